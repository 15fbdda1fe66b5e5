"""Whether this build has OpenMP, and its runtime's thread limit.

Built with the same OpenMP runtime as the network modules, so that
``openmp_max_threads`` is the limit their parallel regions see: what
``OMP_NUM_THREADS`` and ``threadpoolctl.threadpool_limits`` set. The C
helpers the kernels use are declared in ``_openmp.pxd``.
"""


def openmp_enabled():
    """True if the kernels were built with OpenMP (else ``n_jobs`` runs serially)."""
    return bool(OPENMP)


def openmp_max_threads():
    """The OpenMP runtime's ``omp_get_max_threads()`` for the calling thread (1
    without OpenMP)."""
    return max_threads()
