"""Tabular data: 20 features, one hidden layer of 100 units."""

from .common import IMPLEMENTATIONS, THREADS, EstimatorBenchmark


class Tabular(EstimatorBenchmark):
    """make_classification 10k x 20, 5 classes, hidden 100, batch 200,
    20 epochs (adam)."""

    workload = "tabular"
    params = (IMPLEMENTATIONS, THREADS)

    def setup_cache(self):
        return self.fit_reference_models()


class Regressor(EstimatorBenchmark):
    """make_regression 10k x 20, hidden 100, batch 200, 20 epochs (adam)."""

    workload = "regressor"
    params = (IMPLEMENTATIONS, THREADS)

    def setup_cache(self):
        return self.fit_reference_models()


class Digits(EstimatorBenchmark):
    """load_digits (1797 x 64, 10 classes), hidden 100, batch 200,
    50 epochs (adam)."""

    workload = "digits"
    params = (IMPLEMENTATIONS, [1])

    def setup_cache(self):
        return self.fit_reference_models()
