"""Deep and narrow network: 8 hidden layers of 32 tanh units, batch 64.
Many small GEMMs per batch, so per-layer overhead matters."""

from .common import (
    IMPLEMENTATIONS,
    THREADS,
    EstimatorBenchmark,
    MLPBenchmark,
    steady_state_us,
)


class DeepNarrow(EstimatorBenchmark):
    """make_classification 4k x 20, 3 classes, (32 tanh) x 8, batch 64,
    10 epochs (adam)."""

    workload = "deep_narrow"
    params = (IMPLEMENTATIONS, THREADS)

    def setup_cache(self):
        return self.fit_reference_models()


class DeepNarrowPredict(MLPBenchmark):
    """Inference on the fitted 8x32 tanh network: latency of a single-row
    predict_proba (what a service pays per request) and a 4000-row
    predict."""

    workload = "deep_narrow"
    params = (IMPLEMENTATIONS, [1])

    def setup_cache(self):
        return self.fit_reference_models()

    def setup(self, fitted, implementation, threads):
        super().setup(fitted, implementation, threads)
        self.row = self.X[:1].copy()

    def time_predict_proba_single_row(self, *args):
        self.fitted.predict_proba(self.row)

    def track_predict_proba_single_row_us(self, *args):
        """Steady-state single-row latency in µs (see ``steady_state_us``)."""
        return steady_state_us(self.fitted.predict_proba, self.row)

    track_predict_proba_single_row_us.unit = "µs"

    def time_predict_batch(self, *args):
        self.fitted.predict(self.X)
