"""The solver loops (``_solvers``): the records they return and what they print.

The stochastic loop and L-BFGS on a NetworkState directly (the record holds
only the new epochs; early stopping restores the best epoch; partial fits
run one epoch), the ``Progress`` record applied to an estimator, scikit-learn's
batch size rules, the verbose lines, and the per-layer gradient norms
(against finite differences of scikit-learn's loss).
"""

import re

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network._base import ACTIVATIONS, LOSS_FUNCTIONS

import datasets
from cymlp import MLPClassifier, MLPRegressor
from cymlp import _solvers
from cymlp._optim import SGDState
from cymlp._state import NetworkState

pytestmark = pytest.mark.usefixtures("quiet")


def classification():
    return datasets.make("multiclass", n=150, d=5)


def _state(X, units_hidden=(5,)):
    config = {"activations": ["tanh"] * len(units_hidden), "dropout": [0.0] * len(units_hidden),
              "batch_norm": [False] * len(units_hidden), "negative_slope": 0.01}
    units = [X.shape[1], *units_hidden, 1]
    rng = np.random.RandomState(0)
    coefs = [rng.uniform(-0.5, 0.5, (a, b)) for a, b in zip(units[:-1], units[1:])]
    intercepts = [np.zeros(b) for b in units[1:]]
    return NetworkState.new(units, config, "squared_error", coefs, intercepts, np.float64)


def _settings(**changes):
    settings = dict(max_iter=5, batch_size=10, shuffle=True, alpha=1e-4, tol=0.0,
                    n_iter_no_change=100, verbose=False, incremental=False)
    return _solvers.StochasticSettings(**{**settings, **changes})


def _progress():
    return _solvers.Progress(best_loss=np.inf)


# --------------------------------------------------------------------------
# The stochastic loop and L-BFGS on a network state
# --------------------------------------------------------------------------


def test_stochastic_loop_trains_the_state_in_place_and_returns_the_new_epochs():
    X, y = datasets.make("regression", n=40, d=3)
    state = _state(X)
    held = state.views()["coefs_"]
    before = state.params_copy()
    optimizer = SGDState(state.layout.n_params, np.float64, 0.01, "constant", 0.9, True, 0.5)
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(5\\)"):
        progress = _solvers.fit_stochastic(
            state, state.training_set(X, y[:, None], None), optimizer, _settings(),
            _progress(), np.random.RandomState(0))
    assert progress.n_iter == 5 and progress.t == 5 * 40
    assert len(progress.loss_curve) == 5 and progress.loss == progress.loss_curve[-1]
    assert progress.loss_curve[-1] < progress.loss_curve[0]
    assert progress.gradient_norms.shape == (5, 2)
    assert state.owns(held) and not np.array_equal(state.params_copy(), before)


def test_incremental_runs_one_epoch():
    X, y = datasets.make("regression", n=40, d=3)
    state = _state(X)
    optimizer = SGDState(state.layout.n_params, np.float64, 0.01, "constant", 0.9, True, 0.5)
    progress = _solvers.fit_stochastic(
        state, state.training_set(X, y[:, None], None), optimizer,
        _settings(incremental=True), _progress(), np.random.RandomState(0))
    assert progress.n_iter == 1 and progress.loss_curve == [progress.loss]


def test_early_stopping_ends_with_the_best_epochs_weights():
    X, y = datasets.make("regression", n=60, d=3)
    state = _state(X)
    optimizer = SGDState(state.layout.n_params, np.float64, 0.05, "constant", 0.9, True, 0.5)
    scores = iter([0.1, 0.5, 0.3, 0.2, 0.0])   # the second epoch is the best
    seen = []

    def score(X_val, y_val, sample_weight):
        seen.append(state.params_copy())
        return next(scores)

    validation = _solvers.Validation(X[:10], y[:10], None, score)
    progress = _solvers.fit_stochastic(
        state, state.training_set(X, y[:, None], None), optimizer,
        _settings(n_iter_no_change=2), _solvers.Progress(best_validation_score=-np.inf),
        np.random.RandomState(0), validation)
    # three epochs without improvement (more than n_iter_no_change = 2) stop it
    assert progress.validation_scores == [0.1, 0.5, 0.3, 0.2, 0.0]
    assert progress.best_validation_score == 0.5 and progress.n_iter == 5
    assert_array_equal(state.params_copy(), seen[1])


def test_lbfgs_trains_the_state_and_counts_its_iterations():
    X, y = datasets.make("regression", n=40, d=3)
    state = _state(X)
    settings = _solvers.LbfgsSettings(max_iter=30, max_fun=15000, alpha=1e-4, tol=1e-4,
                                      verbose=False)
    progress = _solvers.fit_lbfgs(state, state.training_set(X, y[:, None], None), settings,
                                  _progress())
    assert 1 <= progress.n_iter <= 30
    assert progress.gradient_norms.shape == (progress.n_iter, 2)
    # the reported loss is the loss at the final weights
    plan = state.gradient_plan(state.training_set(X, y[:, None], None), 1e-4, 1.0,
                               np.zeros(2))
    grads = np.empty(state.layout.n_params)
    loss = state.loss_and_gradient(plan, state.params_copy(), grads)
    assert_allclose(progress.loss, loss, rtol=1e-12)


def test_progress_record_extends_the_estimators_curves():
    X, y = classification()
    est = MLPClassifier((4,), max_iter=3, random_state=0).fit(X, y)
    curve, norms = est.loss_curve_, est.gradient_norms_.copy()
    progress = _solvers.Progress.of(est)
    assert progress.t == est.t_ and progress.best_loss == est.best_loss_
    progress.n_iter, progress.t, progress.loss = 2, est.t_ + 300, 0.25
    progress.loss_curve = [0.5, 0.25]
    progress.gradient_norms = np.ones((2, 2))
    progress.apply_to(est)
    assert est.loss_curve_ is curve and curve[-2:] == [0.5, 0.25] and len(curve) == 5
    assert est.n_iter_ == 2 and est.loss_ == 0.25
    assert_array_equal(est.gradient_norms_, np.vstack([norms, np.ones((2, 2))]))


def test_batch_size_follows_scikit_learn():
    assert _solvers.batch_size_for("auto", 1000) == 200
    assert _solvers.batch_size_for("auto", 50) == 50
    assert _solvers.batch_size_for(32, 50) == 32
    with pytest.warns(UserWarning, match="It is going to be clipped"):
        assert _solvers.batch_size_for(80, 50) == 50


def test_verbose_prints_iteration_lines(capsys):
    X, y = classification()
    est = MLPClassifier(max_iter=3, verbose=True, random_state=0).fit(X, y)
    out = capsys.readouterr().out
    lines = re.findall(r"^Iteration (\d+), loss = (\d+\.\d{8})$", out, flags=re.M)
    assert [int(i) for i, _ in lines] == [1, 2, 3]
    assert_allclose([float(v) for _, v in lines], est.loss_curve_, atol=1e-8)
    MLPClassifier(max_iter=3, random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""


def test_verbose_early_stopping_prints_validation_scores(capsys):
    X, y = classification()
    est = MLPClassifier(max_iter=3, verbose=True, early_stopping=True,
                        random_state=0).fit(X, y)
    out = capsys.readouterr().out
    scores = re.findall(r"^Validation score: (\d+\.\d+)$", out, flags=re.M)
    assert_allclose([float(s) for s in scores], est.validation_scores_, atol=1e-6)


def _sklearn_initial_weights(units, activation, seed):
    """Glorot-uniform weights drawn in scikit-learn's order."""
    rs = np.random.RandomState(seed)
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(units[:-1], units[1:]):
        bound = np.sqrt((2.0 if activation == "logistic" else 6.0) / (fan_in + fan_out))
        coefs.append(rs.uniform(-bound, bound, (fan_in, fan_out)))
        intercepts.append(rs.uniform(-bound, bound, fan_out))
    return coefs, intercepts


def _finite_difference_coef_grads(coefs, intercepts, activation, out, X, Y, alpha,
                                  loss_name):
    """Gradient of the regularized mean loss w.r.t. each weight matrix."""

    def loss():
        a = X
        for i, (W, b) in enumerate(zip(coefs, intercepts)):
            a = a @ W + b
            ACTIVATIONS[out if i == len(coefs) - 1 else activation](a)
        reg = 0.5 * alpha * sum((W**2).sum() for W in coefs) / len(X)
        return LOSS_FUNCTIONS[loss_name](Y, a) + reg

    grads = []
    h = 1e-6
    for W in coefs:
        g = np.empty_like(W)
        for idx in np.ndindex(*W.shape):
            keep = W[idx]
            W[idx] = keep + h
            up = loss()
            W[idx] = keep - h
            down = loss()
            W[idx] = keep
            g[idx] = (up - down) / (2 * h)
        grads.append(g)
    return grads


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_gradient_norms_of_first_epoch(cls):
    # shuffle off, one batch, one epoch: the norms at the initial weights
    rng = np.random.RandomState(2)
    X = rng.randn(30, 4)
    if cls is MLPClassifier:
        y = rng.randint(0, 3, 30)
        Y, out, loss_name = np.eye(3)[y], "softmax", "log_loss"
    else:
        y = rng.randn(30)
        Y, out, loss_name = y[:, None], "identity", "squared_error"
    alpha = 0.5
    est = cls(hidden_layer_sizes=(5, 3), activation="tanh", solver="sgd", shuffle=False,
              batch_size=30, max_iter=1, alpha=alpha, random_state=3).fit(X, y)
    assert est.gradient_norms_.shape == (1, 3)
    coefs, intercepts = _sklearn_initial_weights([4, 5, 3, Y.shape[1]], "tanh", 3)
    grads = _finite_difference_coef_grads(coefs, intercepts, "tanh", out, X, Y, alpha,
                                          loss_name)
    assert_allclose(est.gradient_norms_[0], [np.linalg.norm(g) for g in grads], rtol=1e-6)


def test_gradient_norms_average_over_batches():
    rng = np.random.RandomState(4)
    X, y = rng.randn(40, 3), rng.randn(40)
    est = MLPRegressor(hidden_layer_sizes=(4,), solver="sgd", momentum=0.0, shuffle=False,
                       batch_size=20, max_iter=1, random_state=5).fit(X, y)
    coefs, intercepts = _sklearn_initial_weights([3, 4, 1], "relu", 5)
    # first batch at the initial weights, second after one plain SGD step
    norms = []
    for half in (slice(0, 20), slice(20, 40)):
        g = _finite_difference_coef_grads(coefs, intercepts, "relu", "identity", X[half],
                                          y[half, None], 1e-4, "squared_error")
        norms.append([np.linalg.norm(gi) for gi in g])
        # bias gradients by finite differences too, for the step
        gb = []
        for b in intercepts:
            gi = np.empty_like(b)
            for j in range(b.size):
                keep = b[j]
                b[j] = keep + 1e-6
                up = _loss_of(coefs, intercepts, X[half], y[half])
                b[j] = keep - 1e-6
                down = _loss_of(coefs, intercepts, X[half], y[half])
                b[j] = keep
                gi[j] = (up - down) / 2e-6
            gb.append(gi)
        for W, gW in zip(coefs, g):
            W -= 0.001 * gW
        for b, gbi in zip(intercepts, gb):
            b -= 0.001 * gbi
    assert est.gradient_norms_.shape == (1, 2)
    assert_allclose(est.gradient_norms_[0], np.mean(norms, axis=0), rtol=1e-6)
    assert_allclose(est.coefs_[0], coefs[0], rtol=1e-6, atol=1e-9)


def _loss_of(coefs, intercepts, X, y):
    a = X
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        a = a @ W + b
        if i < len(coefs) - 1:
            np.maximum(a, 0, out=a)
    reg = 0.5 * 1e-4 * sum((W**2).sum() for W in coefs) / len(X)
    return 0.5 * ((y - a[:, 0]) ** 2).mean() + reg


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_gradient_norms_shape(solver):
    X, y = classification()
    est = MLPClassifier(hidden_layer_sizes=(6, 4), solver=solver, max_iter=7,
                        random_state=0).fit(X, y)
    assert est.gradient_norms_.shape == (est.n_iter_, est.n_layers_ - 1)
    assert np.isfinite(est.gradient_norms_).all() and (est.gradient_norms_ > 0).all()
    # a fresh fit starts over
    est.fit(X, y)
    assert est.gradient_norms_.shape == (est.n_iter_, est.n_layers_ - 1)


def test_gradient_norms_grow_with_warm_start_and_partial_fit():
    X, y = classification()
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, warm_start=True,
                        random_state=0).fit(X, y)
    first = est.gradient_norms_.copy()
    est.fit(X, y)
    assert est.gradient_norms_.shape == (6, 2)
    assert_array_equal(est.gradient_norms_[:3], first)
    pf = MLPClassifier(hidden_layer_sizes=(4,), random_state=0)
    for _ in range(4):
        pf.partial_fit(X, y, classes=[0, 1, 2])
    assert pf.gradient_norms_.shape == (4, 2)
