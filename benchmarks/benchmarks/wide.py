"""Wide network shaped like MNIST: 784-512-256-10, 3000 random 'images',
batch 200, 2 epochs. GEMM-bound: shows how close to BLAS speed the
implementation gets."""

from .common import IMPLEMENTATIONS, THREADS, EstimatorBenchmark


class Wide(EstimatorBenchmark):
    """784-512-256-10 on float64 input."""

    workload = "wide_f64"
    params = (IMPLEMENTATIONS, THREADS)

    def setup_cache(self):
        return self.fit_reference_models()


class WideFloat32(EstimatorBenchmark):
    """784-512-256-10 on float32 input (fitted in float32)."""

    workload = "wide_f32"
    params = (IMPLEMENTATIONS, THREADS)

    def setup_cache(self):
        return self.fit_reference_models()
