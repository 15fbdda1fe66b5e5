"""Full-batch solver: lbfgs (scipy.optimize) on a small classification set."""

from .common import IMPLEMENTATIONS, THREADS, EstimatorBenchmark


class Lbfgs(EstimatorBenchmark):
    """make_classification 1000 x 20, 3 classes, hidden 50, lbfgs with
    max_iter=200 and tol=0 (track_n_iter shows where it stopped). At 1 and
    2 BLAS threads: scikit-learn's L-BFGS is slower at 2 here, its numpy
    and scipy OpenBLAS pools fighting; cymlp uses scipy's only."""

    workload = "lbfgs"
    params = (IMPLEMENTATIONS, THREADS)

    def setup_cache(self):
        return self.fit_reference_models()
