"""Full-batch solver: lbfgs (scipy.optimize) on a small classification set."""

from .common import IMPLEMENTATIONS, EstimatorBenchmark


class Lbfgs(EstimatorBenchmark):
    """make_classification 1000 x 20, 3 classes, hidden 50, lbfgs with
    max_iter=200 and tol=0 (track_n_iter shows where it stopped)."""

    workload = "lbfgs"
    params = (IMPLEMENTATIONS, [1])

    def setup_cache(self):
        return self.fit_reference_models()
