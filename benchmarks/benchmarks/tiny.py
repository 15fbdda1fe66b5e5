"""Overhead-bound tiny networks: the per-batch Python/bookkeeping cost
dominates, the arithmetic is negligible. BLAS threads make no difference
here, so only threads=1 is run."""

from .common import IMPLEMENTATIONS, EstimatorBenchmark


class XOR(EstimatorBenchmark):
    """XOR 2-2-1 tanh, 2000 noisy points, batch 32, 30 epochs."""

    workload = "xor"
    params = (IMPLEMENTATIONS, [1])

    def setup_cache(self):
        return self.fit_reference_models()


class Circles(EstimatorBenchmark):
    """make_circles 2-4-1 relu, 2000 points, batch 200, 200 epochs."""

    workload = "circles"
    params = (IMPLEMENTATIONS, [1])

    def setup_cache(self):
        return self.fit_reference_models()
