"""Input formats other than dense float64: float32 arrays and CSR matrices."""

from .common import IMPLEMENTATIONS, EstimatorBenchmark


class Float32Input(EstimatorBenchmark):
    """The tabular workload (20-100-5, 10k rows, 20 epochs) on float32 X:
    both implementations then fit in float32."""

    workload = "tabular_f32"
    params = (IMPLEMENTATIONS, [1])

    def setup_cache(self):
        return self.fit_reference_models()


class SparseInput(EstimatorBenchmark):
    """scipy.sparse CSR input, 5000 x 1000 at 1% density, hidden 100,
    4 classes, batch 200, 10 epochs."""

    workload = "sparse_csr"
    params = (IMPLEMENTATIONS, [1])

    def setup_cache(self):
        return self.fit_reference_models()
