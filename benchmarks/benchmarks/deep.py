"""Deep and narrow network: 8 hidden layers of 32 tanh units, batch 64.
Many small GEMMs per batch, so per-layer overhead matters."""

import time

from .common import IMPLEMENTATIONS, THREADS, EstimatorBenchmark, MLPBenchmark


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
        """Steady-state single-row latency in µs: the best of 7 blocks of 200
        calls. asv times a benchmark that has a setup one call per sample,
        right after the setup ran; at a few µs per call that measures the
        setup's cache damage and the timer as much as predict_proba."""
        predict_proba, row = self.fitted.predict_proba, self.row
        best = float("inf")
        for _ in range(7):
            tic = time.perf_counter()
            for _ in range(200):
                predict_proba(row)
            best = min(best, (time.perf_counter() - tic) / 200)
        return best * 1e6

    track_predict_proba_single_row_us.unit = "µs"

    def time_predict_batch(self, *args):
        self.fitted.predict(self.X)
