"""Shared setup of the cymlp asv suite.

Every workload (its synthetic data and its estimator parameters) is defined
once here, in ``WORKLOADS``, so that the time / peakmem / track benchmarks of
the area modules and the GFLOP/s module run both implementations on exactly
the same data with exactly the same settings.

Rules that keep the comparison fair:

* data are generated with fixed seeds, the estimators get ``random_state=0``;
* stochastic solvers run a fixed number of epochs: ``max_iter=epochs``,
  ``tol=0`` and ``n_iter_no_change=max_iter`` so that neither implementation
  can stop early (``track_n_iter`` checks it, ``track_train_score`` checks
  that the work done is worth the same);
* BLAS (and OpenMP) threads are pinned with ``threadpoolctl`` for the whole
  benchmark process: the limit is set in ``setup`` and lifted in
  ``teardown``, so that sub-millisecond benchmarks do not time threadpoolctl;
* ConvergenceWarning (expected: we stop at ``max_iter`` on purpose) is
  ignored.
"""

import functools
import importlib
import time
import warnings
from abc import ABC, abstractmethod

import numpy as np
import scipy.linalg  # noqa: F401  load scipy's BLAS before pinning threads
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

IMPLEMENTATIONS = ["cymlp", "sklearn"]
THREADS = [1, 2]

try:
    from sklearn.exceptions import ConvergenceWarning
except ImportError:  # pragma: no cover
    ConvergenceWarning = None
else:
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
# Same messages raised under another warning class (e.g. one of cymlp's own).
warnings.filterwarnings(
    "ignore", message=r"(?s).*(maximum iterations|failed to converge)"
)


# --------------------------------------------------------------------------
# Implementations
# --------------------------------------------------------------------------

_CLASS_NAMES = {"classifier": "MLPClassifier", "regressor": "MLPRegressor"}
_MODULES = {"cymlp": "cymlp", "sklearn": "sklearn.neural_network"}


@functools.lru_cache(maxsize=None)
def _import_implementation(implementation):
    try:
        return importlib.import_module(_MODULES[implementation])
    except ImportError as exc:
        # asv reports a benchmark whose setup raises NotImplementedError as
        # skipped (n/a) instead of failed.
        raise NotImplementedError(f"{implementation} is not importable: {exc}")


def get_estimator_class(implementation, kind):
    """``MLPClassifier`` or ``MLPRegressor`` of ``implementation``."""
    module = _import_implementation(implementation)
    try:
        return getattr(module, _CLASS_NAMES[kind])
    except AttributeError:  # package still being written: skip, don't fail
        raise NotImplementedError(
            f"{implementation} has no {_CLASS_NAMES[kind]} yet"
        ) from None


# --------------------------------------------------------------------------
# Data (all generators are deterministic)
# --------------------------------------------------------------------------


def _noisy_xor(n_samples=2000, noise=0.2, seed=0):
    rng = np.random.default_rng(seed)
    corners = rng.integers(0, 2, size=(n_samples, 2))
    X = 2.0 * corners - 1.0 + noise * rng.standard_normal((n_samples, 2))
    y = corners[:, 0] ^ corners[:, 1]
    return X, y


def _circles():
    from sklearn.datasets import make_circles

    return make_circles(n_samples=2000, noise=0.1, factor=0.5, random_state=0)


def _tabular(dtype=np.float64):
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=10_000, n_features=20, n_informative=12, n_redundant=4,
        n_classes=5, n_clusters_per_class=2, random_state=0,
    )
    return X.astype(dtype), y


def _deep_narrow():
    from sklearn.datasets import make_classification

    return make_classification(
        n_samples=4_000, n_features=20, n_informative=10, n_classes=3,
        random_state=1,
    )


def _mnist_like(dtype=np.float64, n_samples=3_000, seed=2):
    """Random 28x28 'images': pixels in [0, 1], ~80% of them 0, 10 classes
    given by a random linear teacher (so that the train score means
    something)."""
    rng = np.random.default_rng(seed)
    X = rng.random((n_samples, 784))
    X[rng.random((n_samples, 784)) < 0.8] = 0.0
    teacher = rng.standard_normal((784, 10))
    y = np.argmax((X - X.mean(axis=0)) @ teacher, axis=1)
    return X.astype(dtype), y


def _regression():
    from sklearn.datasets import make_regression

    X, y = make_regression(
        n_samples=10_000, n_features=20, n_informative=15, noise=5.0,
        random_state=3,
    )
    return X, (y - y.mean()) / y.std()


def _small_classification():
    from sklearn.datasets import make_classification

    return make_classification(
        n_samples=1_000, n_features=20, n_informative=10, n_classes=3,
        random_state=4,
    )


def _large_classification():
    """10000 rows of the same kind as ``_small_classification``."""
    from sklearn.datasets import make_classification

    return make_classification(
        n_samples=10_000, n_features=20, n_informative=10, n_classes=3,
        random_state=4,
    )


def _sparse_csr():
    """5000 x 1000 CSR matrix with 1% non-zeros, 4 classes from a linear
    teacher."""
    rng = np.random.default_rng(5)
    X = sp.random(5_000, 1_000, density=0.01, format="csr", random_state=rng)
    teacher = rng.standard_normal((1_000, 4))
    y = np.asarray(np.argmax(X @ teacher, axis=1)).ravel()
    return X, y


def _digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


# --------------------------------------------------------------------------
# Workloads
# --------------------------------------------------------------------------


def fixed_epochs(epochs):
    """Parameters that make a stochastic solver run exactly ``epochs``."""
    return dict(max_iter=epochs, tol=0.0, n_iter_no_change=epochs,
                early_stopping=False)


class Workload:
    """Data + estimator parameters, shared by all benchmarks of a workload."""

    def __init__(self, name, kind, make_data, description, **params):
        self.name = name
        self.kind = kind
        self.make_data = make_data
        self.description = description
        self.params = dict(random_state=0, **params)

    @property
    def epochs(self):
        return self.params["max_iter"]

    def data(self):
        return _cached_data(self.name)

    def make_estimator(self, implementation):
        cls = get_estimator_class(implementation, self.kind)
        return cls(**self.params)

    def layer_sizes(self):
        X, y = self.data()
        if self.kind == "regressor":
            n_outputs = 1 if y.ndim == 1 else y.shape[1]
        else:
            n_classes = len(np.unique(y))
            n_outputs = 1 if n_classes == 2 else n_classes
        return [X.shape[1], *self.params["hidden_layer_sizes"], n_outputs]

    def n_weights(self):
        sizes = self.layer_sizes()
        return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))

    def nominal_flops(self):
        """6 x n_weights x n_samples x epochs: forward, delta and gradient
        GEMMs of every layer (biases and activations not counted)."""
        X, _ = self.data()
        return 6.0 * self.n_weights() * X.shape[0] * self.epochs


_TANH_8x32 = dict(hidden_layer_sizes=(32,) * 8, activation="tanh",
                  batch_size=64, **fixed_epochs(10))

WORKLOADS = {
    w.name: w
    for w in [
        Workload("xor", "classifier", _noisy_xor,
                 "XOR 2-2-1 tanh, 2000 noisy points, batch 32, 30 epochs",
                 hidden_layer_sizes=(2,), activation="tanh", batch_size=32,
                 learning_rate_init=0.01, **fixed_epochs(30)),
        Workload("circles", "classifier", _circles,
                 "circles 2-4-1 relu, 2000 points, batch 200, 200 epochs",
                 hidden_layer_sizes=(4,), batch_size=200,
                 learning_rate_init=0.01, **fixed_epochs(200)),
        Workload("tabular", "classifier", _tabular,
                 "tabular 20-100-5, 10k rows, batch 200, 20 epochs",
                 hidden_layer_sizes=(100,), batch_size=200,
                 **fixed_epochs(20)),
        Workload("tabular_f32", "classifier",
                 functools.partial(_tabular, np.float32),
                 "tabular 20-100-5 on float32 input, 10k rows, 20 epochs",
                 hidden_layer_sizes=(100,), batch_size=200,
                 **fixed_epochs(20)),
        Workload("deep_narrow", "classifier", _deep_narrow,
                 "deep & narrow 20-(32 tanh)x8-3, 4k rows, batch 64, 10 epochs",
                 **_TANH_8x32),
        Workload("wide_f64", "classifier", _mnist_like,
                 "wide 784-512-256-10 float64, 3k rows, batch 200, 2 epochs",
                 hidden_layer_sizes=(512, 256), batch_size=200,
                 **fixed_epochs(2)),
        Workload("wide_f32", "classifier",
                 functools.partial(_mnist_like, np.float32),
                 "wide 784-512-256-10 float32, 3k rows, batch 200, 2 epochs",
                 hidden_layer_sizes=(512, 256), batch_size=200,
                 **fixed_epochs(2)),
        Workload("regressor", "regressor", _regression,
                 "regressor 20-100-1, 10k rows, batch 200, 20 epochs",
                 hidden_layer_sizes=(100,), batch_size=200,
                 **fixed_epochs(20)),
        Workload("lbfgs", "classifier", _small_classification,
                 "lbfgs 20-50-3, 1k rows, max_iter 200",
                 hidden_layer_sizes=(50,), solver="lbfgs", max_iter=200,
                 max_fun=100_000, tol=0.0),
        Workload("lbfgs_10k", "classifier", _large_classification,
                 "lbfgs 20-50-3, 10k rows, max_iter 50",
                 hidden_layer_sizes=(50,), solver="lbfgs", max_iter=50,
                 max_fun=100_000, tol=0.0),
        Workload("sparse_csr", "classifier", _sparse_csr,
                 "sparse CSR 1000 features (1% nnz)-100-4, 5k rows, 10 epochs",
                 hidden_layer_sizes=(100,), batch_size=200,
                 **fixed_epochs(10)),
        Workload("digits", "classifier", _digits,
                 "digits 64-100-10, 1797 rows, batch 200, 50 epochs",
                 hidden_layer_sizes=(100,), batch_size=200,
                 **fixed_epochs(50)),
    ]
}


def steady_state_us(function, arg, blocks=7, calls=200):
    """Steady-state latency of ``function(arg)`` in µs: the best of ``blocks``
    blocks of ``calls`` calls. asv times a benchmark that has a setup one call
    per sample, right after the setup ran; at a few µs per call that measures
    the setup's cache damage and the timer as much as the call."""
    best = float("inf")
    for _ in range(blocks):
        tic = time.perf_counter()
        for _ in range(calls):
            function(arg)
        best = min(best, (time.perf_counter() - tic) / calls)
    return best * 1e6


@functools.lru_cache(maxsize=None)
def _cached_data(name):
    return WORKLOADS[name].make_data()


# --------------------------------------------------------------------------
# Base classes
# --------------------------------------------------------------------------


class MLPBenchmark(ABC):
    """Base of the benchmarks that need a fitted model of each implementation.

    ``params`` start with ``implementation`` and ``threads``.  The models are
    fitted once per class by ``setup_cache``, which asv keys by its source
    line: every concrete class must therefore write its own (abstract here,
    which also keeps asv from collecting this base class) as::

        def setup_cache(self):
            return self.fit_reference_models()
    """

    workload = None  # key of WORKLOADS
    params = (IMPLEMENTATIONS, THREADS)
    param_names = ["implementation", "threads"]
    timeout = 600

    @abstractmethod
    def setup_cache(self):
        """Return ``self.fit_reference_models()``."""

    def fit_reference_models(self):
        """``{implementation: fitted estimator}`` on the train data; ``None``
        for an implementation that is not available, the error text for one
        whose fit raised (its benchmarks then fail, the others still run)."""
        wl = WORKLOADS[self.workload]
        X, y = wl.data()
        fitted = {}
        for implementation in IMPLEMENTATIONS:
            try:
                estimator = wl.make_estimator(implementation)
            except NotImplementedError:
                fitted[implementation] = None
                continue
            try:
                with threadpool_limits(limits=max(THREADS)):
                    fitted[implementation] = estimator.fit(X, y)
            except Exception as exc:
                fitted[implementation] = f"{type(exc).__name__}: {exc}"
        return fitted

    def setup(self, fitted, implementation, threads, *args):
        wl = WORKLOADS[self.workload]
        self.X, self.y = wl.data()
        # raises NotImplementedError (-> skipped) when not importable
        self.estimator = wl.make_estimator(implementation)
        self.fitted = fitted[implementation]
        if self.fitted is None:
            raise NotImplementedError(f"{implementation} is not available")
        if isinstance(self.fitted, str):
            raise RuntimeError(f"{implementation} fit failed: {self.fitted}")
        self._limiter = threadpool_limits(limits=threads)

    def teardown(self, *args):
        limiter = getattr(self, "_limiter", None)
        if limiter is not None:
            limiter.restore_original_limits()


class EstimatorBenchmark(MLPBenchmark):
    """fit time / fit peak memory / predict time / train score / n_iter_."""

    def time_fit(self, *args):
        self.estimator.fit(self.X, self.y)

    time_fit.number = 1
    time_fit.repeat = (2, 7, 10.0)

    def peakmem_fit(self, *args):
        self.estimator.fit(self.X, self.y)

    def time_predict(self, *args):
        self.fitted.predict(self.X)

    def track_train_score(self, *args):
        return float(self.fitted.score(self.X, self.y))

    track_train_score.unit = "score"

    def track_n_iter(self, *args):
        return int(self.fitted.n_iter_)

    track_n_iter.unit = "iterations"
