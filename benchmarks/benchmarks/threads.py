"""Scale-out on threads: two fits in two Python threads against the same two
fits in sequence, GridSearchCV(n_jobs=2) on joblib's threading backend
against n_jobs=1, and one fit on every core (cymlp's ``n_jobs``).

cymlp trains without the GIL (one kernel call per epoch, ``with nogil``;
outside the main thread it never takes the GIL between batches), so two fits
in two threads should take about the time of one on a machine with two free
cores; scikit-learn's MLP releases the GIL only inside its numpy calls.
BLAS is held at one thread (threadpoolctl) so that the threads are the only
parallelism.

Workload: the tabular 20-100-5 classifier on the first 5000 rows of the
``tabular`` data, batch 200, a fixed number of epochs (``tol=0``,
``n_iter_no_change=max_iter``) so that the fit dominates.

* ``TwoFits.time_fits``: wall time of the two fits, ``mode`` = 'sequential'
  or 'threads';
* ``GridSearch.time_grid_search``: wall time of an 8-fit grid search
  (4 candidates x 2 folds, ``refit=False``), ``n_jobs`` = 1 or 2;
* ``*.track_speedup``: sequential time / threaded time (best of 5 each,
  interleaved, timed inside the track function so that one ``--quick`` run
  gives the number; 2.0 is perfect scaling on two cores).
  ``implementation='numpy'`` is the control: two threads of large numpy
  GEMMs (GIL released for milliseconds at a time). If it does not reach ~2
  either, the machine had no second free core and the other ratios mean
  little.
"""

import functools
import threading
import time

import numpy as np
from threadpoolctl import threadpool_limits

from .common import IMPLEMENTATIONS, WORKLOADS, _tabular, fixed_epochs, get_estimator_class

N_SAMPLES = 5_000
EPOCHS = 50
PARAMS = dict(hidden_layer_sizes=(100,), batch_size=200, random_state=0,
              **fixed_epochs(EPOCHS))
GRID = {"alpha": [1e-4, 1e-3], "learning_rate_init": [1e-3, 2e-3]}
GRID_EPOCHS = 100  # on half the rows (cv=2): about one TwoFits fit per fit


@functools.lru_cache(maxsize=None)
def _data():
    X, y = _tabular()
    return X[:N_SAMPLES], y[:N_SAMPLES]


def _make(implementation, **params):
    return get_estimator_class(implementation, "classifier")(**{**PARAMS, **params})


def _in_threads(funcs):
    threads = [threading.Thread(target=f) for f in funcs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _in_sequence(funcs):
    for f in funcs:
        f()


def _timed(func):
    tic = time.perf_counter()
    func()
    return time.perf_counter() - tic


def _speedup(sequential, parallel, repeats=5):
    """Best sequential time / best parallel time, the two interleaved so that
    a burst of load from other processes hits both alike."""
    best_sequential = best_parallel = float("inf")
    for _ in range(repeats):
        best_sequential = min(best_sequential, _timed(sequential))
        best_parallel = min(best_parallel, _timed(parallel))
    return best_sequential / best_parallel


def _gemm_work():
    """Control: large numpy GEMMs, which hold no GIL for milliseconds at a time."""
    a = np.random.default_rng(0).standard_normal((400, 400))
    out = np.empty_like(a)

    def run():
        for _ in range(40):
            np.matmul(a, a, out=out)

    return run


class _ThreadBenchmark:
    timeout = 600

    def _limit_blas(self):
        self._limiter = threadpool_limits(limits=1)

    def teardown(self, *args):
        limiter = getattr(self, "_limiter", None)
        if limiter is not None:
            limiter.restore_original_limits()


class TwoFits(_ThreadBenchmark):
    """Two independent fits (same data, random_state 0 and 1), BLAS at one
    thread: one after the other, or each in its own Python thread."""

    params = (IMPLEMENTATIONS, ["sequential", "threads"])
    param_names = ["implementation", "mode"]

    def setup(self, implementation, mode):
        self.X, self.y = _data()
        self.estimators = [_make(implementation, random_state=seed) for seed in (0, 1)]
        self._limit_blas()

    def _fits(self):
        return [functools.partial(est.fit, self.X, self.y) for est in self.estimators]

    def time_fits(self, implementation, mode):
        run = _in_threads if mode == "threads" else _in_sequence
        run(self._fits())

    time_fits.number = 1
    time_fits.repeat = (2, 5, 10.0)


class TwoFitsScaling(_ThreadBenchmark):
    """Speed-up of TwoFits from threads: sequential / threaded wall time."""

    params = (IMPLEMENTATIONS + ["numpy"],)
    param_names = ["implementation"]

    def setup(self, implementation):
        X, y = _data()
        if implementation == "numpy":
            self.funcs = [_gemm_work(), _gemm_work()]
        else:
            self.funcs = [
                functools.partial(_make(implementation, random_state=seed).fit, X, y)
                for seed in (0, 1)
            ]
        self._limit_blas()

    def track_speedup(self, implementation):
        return _speedup(lambda: _in_sequence(self.funcs),
                        lambda: _in_threads(self.funcs))

    track_speedup.unit = "x (2 = perfect on 2 cores)"


def _grid_search(implementation, n_jobs):
    import joblib
    from sklearn.model_selection import GridSearchCV

    X, y = _data()
    search = GridSearchCV(
        _make(implementation, **fixed_epochs(GRID_EPOCHS)), GRID, cv=2,
        n_jobs=n_jobs, refit=False,
    )

    def run():
        with joblib.parallel_backend("threading"):
            search.fit(X, y)

    return run


class GridSearch(_ThreadBenchmark):
    """GridSearchCV over 4 candidates x 2 folds (8 fits, refit=False) under
    ``joblib.parallel_backend('threading')``, n_jobs=1 against n_jobs=2."""

    params = (IMPLEMENTATIONS, [1, 2])
    param_names = ["implementation", "n_jobs"]

    def setup(self, implementation, n_jobs):
        self.run = _grid_search(implementation, n_jobs)
        self._limit_blas()

    def time_grid_search(self, implementation, n_jobs):
        self.run()

    time_grid_search.number = 1
    time_grid_search.repeat = (2, 5, 20.0)


class GridSearchScaling(_ThreadBenchmark):
    """Speed-up of GridSearch from n_jobs=2: n_jobs=1 / n_jobs=2 wall time."""

    params = (IMPLEMENTATIONS,)
    param_names = ["implementation"]

    def setup(self, implementation):
        self.runs = {n_jobs: _grid_search(implementation, n_jobs) for n_jobs in (1, 2)}
        self._limit_blas()

    def track_speedup(self, implementation):
        return _speedup(self.runs[1], self.runs[2])

    track_speedup.unit = "x (2 = perfect on 2 cores)"


# --------------------------------------------------------------------------
# One fit on every core: cymlp's n_jobs
# --------------------------------------------------------------------------

NJOBS_WORKLOADS = ["tabular", "regressor", "digits", "deep_narrow", "lbfgs", "lbfgs_10k",
                   "wide_f64"]


def _njobs_estimator(workload, n_jobs, **params):
    est = WORKLOADS[workload].make_estimator("cymlp")
    if "n_jobs" not in est.get_params():    # a commit before n_jobs
        raise NotImplementedError("this cymlp has no n_jobs")
    return est.set_params(n_jobs=n_jobs, **params)


def _blas_threads(mode):
    return 2 if mode == "None-2blas" else 1


def _n_jobs(mode):
    return None if mode.startswith("None") else int(mode)


class NJobsFit:
    """One fit with n_jobs = None (BLAS at 1 thread, or at 2: 'None-2blas',
    wide only), 1 or 2."""

    params = (NJOBS_WORKLOADS, ["None", "None-2blas", "1", "2"])
    param_names = ["workload", "n_jobs"]
    timeout = 600

    def setup(self, workload, mode):
        if mode == "None-2blas" and workload != "wide_f64":
            raise NotImplementedError("2 BLAS threads: the wide network only")
        self.X, self.y = WORKLOADS[workload].data()
        self.estimator = _njobs_estimator(workload, _n_jobs(mode))
        self._limiter = threadpool_limits(limits=_blas_threads(mode))

    def teardown(self, *args):
        limiter = getattr(self, "_limiter", None)
        if limiter is not None:
            limiter.restore_original_limits()

    def time_fit(self, workload, mode):
        self.estimator.fit(self.X, self.y)

    time_fit.number = 1
    time_fit.repeat = (2, 7, 10.0)

    def peakmem_fit(self, workload, mode):
        self.estimator.fit(self.X, self.y)


class NJobsScaling:
    """Speed-up of one fit from n_jobs, timed interleaved in one process."""

    params = (NJOBS_WORKLOADS, ["2 vs 1", "1 vs None", "2 vs None-2blas"])
    param_names = ["workload", "pair"]
    timeout = 600

    def setup(self, workload, pair):
        if pair == "2 vs None-2blas" and workload != "wide_f64":
            raise NotImplementedError("2 BLAS threads: the wide network only")
        X, y = WORKLOADS[workload].data()
        faster, slower = pair.split(" vs ")

        def run(mode):
            est = _njobs_estimator(workload, _n_jobs(mode))

            def fit():
                with threadpool_limits(limits=_blas_threads(mode)):
                    est.fit(X, y)
            return fit

        self.reference, self.candidate = run(slower), run(faster)

    def track_speedup(self, workload, pair):
        return _speedup(self.reference, self.candidate)

    track_speedup.unit = "x (reference time / candidate time)"


class _TimedKernels:
    """Stands in for ``cymlp._dispatch.network`` and adds the time spent in
    its kernel calls (an epoch, or one L-BFGS loss and gradient) to ``spent``."""

    KERNELS = ("train_epoch", "loss_and_gradient")

    def __init__(self, module):
        self._module = module
        self.spent = 0.0

    def __getattr__(self, name):
        value = getattr(self._module, name)
        if name not in self.KERNELS:
            return value

        def timed(*args, **kwargs):
            tic = time.perf_counter()
            try:
                return value(*args, **kwargs)
            finally:
                self.spent += time.perf_counter() - tic
        return timed


class NJobsSerialShare:
    """The scaling model's s: the share of an ``n_jobs=1`` fit's time spent
    outside the kernel calls (the epoch loop in Python, scipy's L-BFGS-B, the
    fit's setup), best of 5 fits. A lower bound on the serial fraction: each
    batch's few serial steps inside the kernel are not counted."""

    params = (NJOBS_WORKLOADS,)
    param_names = ["workload"]
    timeout = 600

    def setup(self, workload):
        from cymlp import _dispatch

        if not all(hasattr(_dispatch.network, k) for k in _TimedKernels.KERNELS):
            raise NotImplementedError("this cymlp has other kernel entries")
        self.dispatch = _dispatch
        self.X, self.y = WORKLOADS[workload].data()
        self.estimator = _njobs_estimator(workload, 1)

    def track_outside_kernels(self, workload):
        module = self.dispatch.network
        best = None
        try:
            with threadpool_limits(limits=1):
                self.estimator.fit(self.X, self.y)      # warm up
                for _ in range(5):
                    self.dispatch.network = timed = _TimedKernels(module)
                    tic = time.perf_counter()
                    self.estimator.fit(self.X, self.y)
                    total = time.perf_counter() - tic
                    self.dispatch.network = module
                    if best is None or total < best[0]:
                        best = (total, timed.spent)
        finally:
            self.dispatch.network = module
        return 1.0 - best[1] / best[0]

    track_outside_kernels.unit = "share of the fit"

    def track_blocks(self, workload):
        """K: the row blocks of a full batch (L-BFGS: of the training set), for
        the fitted network's largest weight matrix."""
        from cymlp._blocks import n_blocks_for

        est, n = self.estimator, self.X.shape[0]
        with threadpool_limits(limits=1):
            est.fit(self.X, self.y)
        batch = n if est.solver == "lbfgs" else min(est.batch_size, n)
        return n_blocks_for(batch, max(coef.size for coef in est.coefs_))

    track_blocks.unit = "blocks"


class NJobsLossGap:
    """How far the n_jobs path's loss curve is from n_jobs=None's over 200 epochs
    (n_jobs=1: every n_jobs gives the same bits, tests/test_n_jobs.py), and,
    for scale, how far scikit-learn's is from n_jobs=None's."""

    params = (["tabular", "regressor", "digits", "deep_narrow"],)
    param_names = ["workload"]
    timeout = 1200

    def setup_cache(self):
        gaps = {}
        with threadpool_limits(limits=1):
            for workload in self.params[0]:
                X, y = WORKLOADS[workload].data()
                wl = WORKLOADS[workload]
                none, blocks = (np.asarray(_njobs_estimator(workload, n_jobs,
                                                            **fixed_epochs(200))
                                           .fit(X, y).loss_curve_) for n_jobs in (None, 1))
                sklearn = np.asarray(wl.make_estimator("sklearn").set_params(
                    **fixed_epochs(200)).fit(X, y).loss_curve_)
                gaps[workload] = (np.abs(blocks - none) / none, np.abs(sklearn - none) / none)
        return gaps

    def track_max_relative_gap(self, gaps, workload):
        return float(gaps[workload][0].max())

    track_max_relative_gap.unit = "relative"

    def track_epochs_within_1e9(self, gaps, workload):
        """Epochs before the curves first differ by more than 1e-9 (relative)."""
        return _epochs_within(gaps[workload][0])

    track_epochs_within_1e9.unit = "epochs"

    def track_sklearn_epochs_within_1e9(self, gaps, workload):
        """The same for scikit-learn's curve against n_jobs=None's."""
        return _epochs_within(gaps[workload][1])

    track_sklearn_epochs_within_1e9.unit = "epochs"


def _epochs_within(gap, tol=1e-9):
    above = np.flatnonzero(gap > tol)
    return int(above[0]) if len(above) else len(gap)
