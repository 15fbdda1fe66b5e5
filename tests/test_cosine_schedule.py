"""learning_rate='cosine': anneal from learning_rate_init to 0 over max_iter epochs.

Epoch e (counted from 0 since the network was initialized) trains at
``learning_rate_init * (1 + cos(pi * (e mod max_iter) / max_iter)) / 2``,
with SGD and with Adam (whose bias corrections the kernel applies on top).
The rate of each epoch is read where the solver hands it to the kernel
(``train_epoch``). A warm-started fit and partial_fit continue the schedule
where it stopped; after max_iter epochs it restarts. The other schedules keep
scikit-learn's meaning (SGD only: Adam ignores them).
"""

import math
import types

import numpy as np
import pytest
from numpy.testing import assert_allclose

from cymlp import MLPClassifier, MLPRegressor, _dispatch

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def epoch_rates(monkeypatch):
    """The learning rate of every epoch trained from now on."""
    rates = []
    real = _dispatch.network

    def train_epoch(plan, learning_rate):
        rates.append(learning_rate)
        return real.train_epoch(plan, learning_rate)

    spy = types.SimpleNamespace(**{name: getattr(real, name) for name in dir(real)
                                   if not name.startswith("__")})
    spy.train_epoch = train_epoch
    monkeypatch.setattr(_dispatch, "network", spy)
    return rates


def cosine(init, period, epochs):
    return [init * (1 + math.cos(math.pi * (e % period) / period)) / 2 for e in epochs]


def data(n=120, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 4)
    return X, X[:, 0] - X[:, 1] + 0.1 * rng.randn(n)


FIXED_EPOCHS = dict(tol=0, n_iter_no_change=1000, random_state=0, hidden_layer_sizes=(6,))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_each_epoch_trains_at_the_cosine_rate(solver, dtype, epoch_rates):
    X, y = data()
    est = MLPRegressor(solver=solver, learning_rate="cosine", learning_rate_init=0.05,
                       max_iter=12, **FIXED_EPOCHS).fit(X.astype(dtype), y)
    assert est.n_iter_ == 12
    assert_allclose(epoch_rates, cosine(0.05, 12, range(12)), rtol=1e-15)
    assert epoch_rates[0] == 0.05 and epoch_rates[-1] < 0.05 * 0.02
    # it anneals: the loss ends lower than with the constant rate it starts at
    constant = MLPRegressor(solver=solver, learning_rate_init=0.05, max_iter=12,
                            **FIXED_EPOCHS).fit(X.astype(dtype), y)
    assert not np.allclose(est.loss_curve_, constant.loss_curve_)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_warm_start_continues_the_schedule_and_restarts_after_max_iter(solver, epoch_rates):
    X, y = data()
    est = MLPClassifier(solver=solver, learning_rate="cosine", learning_rate_init=0.02,
                        max_iter=10, warm_start=True, **FIXED_EPOCHS)
    y = (y > 0).astype(int)
    for _ in range(3):                  # three epochs, one partial_fit call each
        est.partial_fit(X, y, classes=[0, 1])
    est.fit(X, y)                       # warm start: epochs 3 .. 12
    assert_allclose(epoch_rates, cosine(0.02, 10, range(13)), rtol=1e-15)
    assert epoch_rates[10] == 0.02      # epoch 10: a new cycle
    assert len(est.loss_curve_) == 13


def test_partial_fit_continues_the_schedule(epoch_rates):
    X, y = data()
    est = MLPRegressor(solver="sgd", learning_rate="cosine", learning_rate_init=0.1,
                       max_iter=4, **FIXED_EPOCHS)
    for _ in range(6):
        est.partial_fit(X, y)
    assert_allclose(epoch_rates, cosine(0.1, 4, range(6)), rtol=1e-15)


def test_adam_ignores_the_sgd_schedules(epoch_rates):
    # scikit-learn's meaning: 'invscaling' and 'adaptive' are SGD's
    X, y = data()
    for schedule in ("constant", "invscaling", "adaptive"):
        MLPRegressor(learning_rate=schedule, learning_rate_init=0.01, max_iter=3,
                     **FIXED_EPOCHS).fit(X, y)
    assert epoch_rates == [0.01] * 9
