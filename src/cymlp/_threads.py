"""``n_jobs``: how many threads the data-parallel path runs, and BLAS at one
thread while it runs.

The number is resolved as scikit-learn resolves its OpenMP threads
(``sklearn.utils._openmp_helpers._openmp_effective_n_threads``): a positive
``n_jobs`` is taken as it is; a negative one counts down from the cores
available, which are OpenMP's limit for the calling thread (what
``OMP_NUM_THREADS`` and ``threadpoolctl.threadpool_limits`` set) and, without
``OMP_NUM_THREADS``, at most the physical cores; a build without OpenMP runs
one thread. None stays None: the whole-batch path.

The data-parallel path calls BLAS from every one of its threads, on blocks
of the same shape whatever the number of threads; BLAS's own threads would
oversubscribe the cores and could change the bits, so ``single_threaded_blas``
holds every BLAS library at one thread (through threadpoolctl) while any
parallel fit or prediction of the process runs, and gives the previous limits
back when the last one ends.
"""

import contextlib
import functools
import os
import threading

from ._openmp import openmp_enabled, openmp_max_threads


@functools.lru_cache(maxsize=None)
def _physical_cores():
    """The physical cores available (joblib's count, cgroup quotas included),
    counted once per process as scikit-learn does."""
    from joblib import cpu_count

    return cpu_count(only_physical_cores=True)


def effective_n_threads(n_jobs):
    """Threads for ``n_jobs`` (None: None, the whole-batch path)."""
    if n_jobs is None:
        return None
    if n_jobs == 0:
        raise ValueError(
            "n_jobs=0 is not a number of threads: use None (one thread, whole "
            "batches), a positive number, or -1 for every core."
        )
    if not openmp_enabled():
        return 1
    if os.getenv("OMP_NUM_THREADS"):
        available = openmp_max_threads()
    else:
        available = min(openmp_max_threads(), _physical_cores())
    if n_jobs < 0:
        return max(1, available + n_jobs + 1)
    return int(n_jobs)


_lock = threading.Lock()
_users = 0
_limiter = None


def _free_openblas_control():
    """Let the next call set OpenBLAS's limit, from whichever Python thread.

    OpenBLAS (pthreads) has one process-wide thread pool; threadpoolctl >= 3.8
    lets only one Python thread at a time set its size and ignores the
    others. The parallel fits of several Python threads share one limit: the
    first to start sets it, the last to end restores it, so control is freed
    around both (nothing to free before threadpoolctl 3.8).
    """
    from threadpoolctl import OpenBLASController

    clear = getattr(OpenBLASController, "clear_controlling_thread", None)
    if clear is not None:
        clear(force=True)


@contextlib.contextmanager
def single_threaded_blas(active=True):
    """Every BLAS library at one thread inside the block (if ``active``).

    Counted over the threads of the process: the first parallel fit limits
    BLAS, the last one to end restores the limits it found, so that fits
    running side by side in several Python threads never lift each other's
    limit.
    """
    global _users, _limiter
    if not active:
        yield
        return
    from sklearn.utils.parallel import _get_threadpool_controller

    with _lock:
        if _users == 0:
            _free_openblas_control()
            _limiter = _get_threadpool_controller().limit(limits=1, user_api="blas")
            _free_openblas_control()
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                _free_openblas_control()
                _limiter.restore_original_limits()
                _free_openblas_control()
                _limiter = None
