"""Beyond scikit-learn: activations, per-layer activations, dropout, batch norm,
weight initializations and class weights (gradients and behaviour)."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import parametrize_with_checks

from cymlp import MLPClassifier, MLPRegressor
from cymlp import _plans
from cymlp._dispatch import LEVEL, load_entries, network
from cymlp._layout import Layout

ALL_ACTIVATIONS = ["identity", "logistic", "tanh", "relu", "leaky_relu", "prelu", "elu",
                   "gelu"]

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=240, n_features=8, n_informative=5,
                               n_classes=3, random_state=0)
    return X, y


# --------------------------------------------------------------------------
# Kernels: the new activations' values (their derivatives are checked against
# finite differences in test_kernels.py, with scikit-learn's four)
# --------------------------------------------------------------------------

def test_new_activations_values():
    z = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]])
    zero = np.zeros(5)
    out = {}
    for name in ["leaky_relu", "elu", "gelu"]:
        v = z.copy()
        load_entries(LEVEL).activate(name, v, zero, negative_slope=0.1)
        out[name] = v[0]
    np.testing.assert_allclose(out["leaky_relu"], [-0.2, -0.05, 0, 0.5, 2])
    np.testing.assert_allclose(out["elu"], np.where(z[0] > 0, z[0], np.expm1(z[0])))
    from scipy.special import erf
    np.testing.assert_allclose(out["gelu"], 0.5 * z[0] * (1 + erf(z[0] / np.sqrt(2))))


# --------------------------------------------------------------------------
# Whole-network gradients with extras (prelu slopes, batch-norm scale/shift)
# --------------------------------------------------------------------------

def _network_gradient_check(activations, batch_norm, head="log_loss", seed=0,
                            dropout=None, mask_seed=12345):
    """The kernels' gradient against central differences of their own loss.

    With dropout, every evaluation reseeds the workspace's mask stream with
    ``mask_seed``: the same masks for the analytic gradient and for each
    +h / -h evaluation, so the loss is a smooth function of the parameters.
    """
    rng = np.random.RandomState(seed)
    n, units = 11, [4, 5, 3, 3]
    X = rng.normal(size=(n, units[0]))
    if head == "log_loss":
        Y = np.eye(3)[rng.randint(0, 3, n)]
    else:
        Y = rng.normal(size=(n, 3))
    layout = Layout(units, activations, head, 0.1, dropout, [batch_norm] * 2)
    params = rng.normal(scale=0.7, size=layout.n_params)
    running = np.zeros(layout.n_running)
    slopes, gammas, betas = layout.extra_views(params)
    for s in slopes:
        if s is not None:
            s[:] = rng.uniform(0.1, 0.4, s.size)
    grads = np.empty_like(params)
    sw = rng.uniform(0.5, 2.0, n)
    # squared error averages over outputs: 1 / n_outputs makes its delta exact
    scale = 1.0 / Y.shape[1] if head == "squared_error" else 1.0
    plan = _plans.GradientPlan(layout, _plans.TrainingSet(layout, X, Y, sw), running, 0.01,
                               scale, np.zeros(len(units) - 1))

    def loss(p, g=None):
        plan.seed(mask_seed)
        g = np.empty_like(p) if g is None else g
        return network.loss_and_gradient(plan, p, g)

    loss(params, grads)
    h = 1e-6
    numeric = np.empty_like(params)
    for i in range(params.size):
        e = np.zeros_like(params)
        e[i] = h
        numeric[i] = (loss(params + e) - loss(params - e)) / (2 * h)
    np.testing.assert_allclose(grads, numeric, rtol=1e-6, atol=1e-8)
    return layout, grads


@pytest.mark.parametrize("pair", [["prelu", "tanh"], ["leaky_relu", "gelu"],
                                  ["elu", "prelu"], ["gelu", "logistic"]])
@pytest.mark.parametrize("batch_norm", [False, True])
def test_network_gradient_with_extras(pair, batch_norm):
    layout, grads = _network_gradient_check(pair, batch_norm)
    slopes, gammas, betas = layout.extra_views(grads)
    # the slopes and the batch-norm parameters really get gradient
    assert (slopes[0] is not None) == (pair[0] == "prelu")
    if batch_norm:
        assert all(g is not None and np.abs(g).sum() > 0 for g in gammas + betas)


def test_network_gradient_batch_norm_regression():
    _network_gradient_check(["tanh", "relu"], True, head="squared_error", seed=3)


@pytest.mark.parametrize("pair, batch_norm, head", [
    (["tanh", "logistic"], False, "log_loss"),
    (["prelu", "gelu"], False, "squared_error"),
    (["elu", "leaky_relu"], True, "log_loss"),
])
def test_dropout_backward_matches_finite_differences_with_a_fixed_mask(pair, batch_norm,
                                                                       head):
    # The backward pass through dropout (delta * keep, the dropped activations
    # feeding the next layer's weight gradient) against central differences of
    # the loss with the same masks: every evaluation reseeds the mask stream.
    rates = [0.5, 0.3]
    _, grads = _network_gradient_check(pair, batch_norm, head, dropout=rates)
    # the masks matter (and come from the seed): another seed, or no dropout,
    # gives another gradient at the same parameters
    _, other_mask = _network_gradient_check(pair, batch_norm, head, dropout=rates,
                                            mask_seed=999)
    _, no_dropout = _network_gradient_check(pair, batch_norm, head)
    assert not np.allclose(grads, other_mask, rtol=1e-3)
    assert not np.allclose(grads, no_dropout, rtol=1e-3)


# --------------------------------------------------------------------------
# Behaviour in the estimators
# --------------------------------------------------------------------------

def test_activation_list_builds_the_layers_asked_for(data):
    X, y = data
    clf = MLPClassifier(hidden_layer_sizes=(6, 5, 4), activation=["relu", "prelu", "elu"],
                        max_iter=30, random_state=0).fit(X, y)
    hidden = clf.hidden_activations(X)
    assert [h.shape[1] for h in hidden] == [6, 5, 4]
    assert hidden[0].min() >= 0                     # relu
    assert hidden[2].min() > -1                     # elu is bounded below by -1
    assert clf.prelu_slopes_[0] is None and clf.prelu_slopes_[2] is None
    assert clf.prelu_slopes_[1].shape == (5,)
    assert not np.allclose(clf.prelu_slopes_[1], 0.25)   # the slopes were trained
    # the prelu layer really applies its own slopes to the layer's input
    z = hidden[0] @ clf.coefs_[1] + clf.intercepts_[1]
    expected = np.where(z > 0, z, clf.prelu_slopes_[1] * z)
    np.testing.assert_allclose(hidden[1], expected, rtol=1e-10, atol=1e-12)


def test_activation_list_length_mismatch_says_both_numbers(data):
    X, y = data
    with pytest.raises(ValueError, match=r"activation has 2 entries.*3 hidden layers"):
        MLPClassifier(hidden_layer_sizes=(4, 4, 4), activation=["relu", "tanh"]).fit(X, y)
    with pytest.raises(ValueError, match="Unknown activation 'swish'"):
        MLPClassifier(hidden_layer_sizes=(4,), activation=["swish"]).fit(X, y)


def test_leaky_relu_slope_is_used(data):
    X, y = data
    a = MLPClassifier(hidden_layer_sizes=(8,), activation="leaky_relu", negative_slope=0.3,
                      max_iter=1, random_state=0).fit(X, y)
    z = X @ a.coefs_[0] + a.intercepts_[0]
    np.testing.assert_allclose(a.hidden_activations(X)[0], np.where(z > 0, z, 0.3 * z),
                               rtol=1e-12, atol=1e-12)


def test_dropout_changes_training_not_prediction(data):
    X, y = data
    kw = dict(hidden_layer_sizes=(32,), max_iter=20, random_state=0)
    plain = MLPClassifier(**kw).fit(X, y)
    dropped = MLPClassifier(dropout=0.3, **kw).fit(X, y)
    again = MLPClassifier(dropout=0.3, **kw).fit(X, y)
    assert not np.allclose(plain.loss_curve_, dropped.loss_curve_)
    np.testing.assert_array_equal(dropped.coefs_[0], again.coefs_[0])  # seeded masks
    p1, p2 = dropped.predict_proba(X), dropped.predict_proba(X)
    np.testing.assert_array_equal(p1, p2)                            # deterministic
    # prediction is the plain network: no mask, no rescaling
    hidden = np.maximum(X @ dropped.coefs_[0] + dropped.intercepts_[0], 0)
    logits = hidden @ dropped.coefs_[1] + dropped.intercepts_[1]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(p1, e / e.sum(axis=1, keepdims=True), rtol=1e-10)


def test_dropout_rate_per_layer_and_lbfgs_refusal(data):
    X, y = data
    MLPClassifier(hidden_layer_sizes=(8, 8), dropout=[0.5, 0.0], max_iter=3,
                  random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="dropout needs a stochastic solver"):
        MLPClassifier(dropout=0.2, solver="lbfgs").fit(X, y)
    with pytest.raises(ValueError, match=r"dropout has 1 entries.*2 hidden layers"):
        MLPClassifier(hidden_layer_sizes=(8, 8), dropout=[0.5]).fit(X, y)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_batch_norm_single_sample_equals_batch_row(data, solver):
    X, y = data
    clf = MLPClassifier(hidden_layer_sizes=(16, 8), batch_norm=True, solver=solver,
                        max_iter=20, random_state=0).fit(X, y)
    batch = clf.predict_proba(X)
    # Prediction normalizes with the running statistics, so a row's output does
    # not depend on the other rows. Not bitwise: a one-row product and a
    # many-row product may take different BLAS kernels (and summation orders);
    # batch statistics over one row would give a different output altogether.
    for i in (0, 17, 239):
        np.testing.assert_allclose(clf.predict_proba(X[i:i + 1])[0], batch[i],
                                   rtol=1e-12, atol=1e-15)
    for attr in ("batch_norm_scale_", "batch_norm_shift_", "batch_norm_running_mean_",
                 "batch_norm_running_var_"):
        values = getattr(clf, attr)
        assert [v.shape for v in values] == [(16,), (8,)]
    assert not np.allclose(clf.batch_norm_running_mean_[0], 0)   # statistics were tracked


def test_batch_norm_uses_running_statistics(data):
    X, y = data
    clf = MLPRegressor(hidden_layer_sizes=(6,), batch_norm=True, activation="identity",
                       max_iter=5, random_state=0).fit(X, y.astype(float))
    z = X @ clf.coefs_[0] + clf.intercepts_[0]
    mean, var = clf.batch_norm_running_mean_[0], clf.batch_norm_running_var_[0]
    normed = (z - mean) / np.sqrt(var + 1e-5)
    hidden = clf.batch_norm_scale_[0] * normed + clf.batch_norm_shift_[0]
    np.testing.assert_allclose(clf.hidden_activations(X)[0], hidden, rtol=1e-10, atol=1e-12)
    # lbfgs: the running statistics are the full-batch ones at the solution
    lb = MLPRegressor(hidden_layer_sizes=(6,), batch_norm=True, solver="lbfgs",
                      max_iter=20, random_state=0).fit(X, y.astype(float))
    z = X @ lb.coefs_[0] + lb.intercepts_[0]
    np.testing.assert_allclose(lb.batch_norm_running_mean_[0], z.mean(axis=0), rtol=1e-8)
    np.testing.assert_allclose(lb.batch_norm_running_var_[0], z.var(axis=0, ddof=1),
                               rtol=1e-8)


def test_class_weight_shifts_predictions(data):
    X, y = data
    kw = dict(hidden_layer_sizes=(16,), max_iter=60, random_state=0)
    plain = MLPClassifier(**kw).fit(X, y)
    heavy = MLPClassifier(class_weight={0: 1.0, 1: 1.0, 2: 20.0}, **kw).fit(X, y)
    assert (heavy.predict(X) == 2).sum() > (plain.predict(X) == 2).sum()
    # class_weight multiplies sample_weight
    sw = np.where(y == 2, 20.0, 1.0)
    weighted = MLPClassifier(**kw).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(heavy.loss_curve_, weighted.loss_curve_, rtol=1e-12)
    balanced = MLPClassifier(class_weight="balanced", **kw).fit(X[:150], y[:150])
    assert balanced.n_iter_ > 0
    with pytest.raises(ValueError, match="'balanced' is not supported for partial_fit"):
        MLPClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])


@pytest.mark.parametrize("grid", [
    {"activation": ["leaky_relu", ["tanh", "prelu"]], "negative_slope": [0.01, 0.2]},
    {"dropout": [0.0, 0.2], "batch_norm": [False, True]},
    {"weight_init": ["auto", "he_normal"], "class_weight": [None, "balanced"]},
])
def test_extras_in_grid_search(data, grid):
    X, y = data
    base = MLPClassifier(hidden_layer_sizes=(8, 8), max_iter=15, random_state=0)
    search = GridSearchCV(base, grid, cv=2).fit(X, y)
    assert len(search.cv_results_["params"]) == np.prod([len(v) for v in grid.values()])
    assert search.best_estimator_.score(X, y) > 0.4


def test_warm_start_refuses_changed_architecture(data):
    X, y = data
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, warm_start=True,
                        random_state=0).fit(X, y)
    before = clf.coefs_[0].copy()
    clf.set_params(activation="tanh")
    with pytest.raises(ValueError, match="Cannot resume training"):
        clf.fit(X, y)
    np.testing.assert_array_equal(clf.coefs_[0], before)


def _expected_failures(estimator):
    """Checks that cannot hold with these extras, by construction."""
    reason = {
        "dropout": "dropout masks differ between weighted and repeated samples",
        "batch_norm": "batch statistics are unweighted means over the batch",
        "class_weight": "'balanced' weights depend on the class counts, which "
                        "repeating samples changes",
    }
    why = "; ".join(reason[k] for k in reason
                    if getattr(estimator, k, None) not in (None, 0.0, False))
    return {"check_sample_weight_equivalence_on_dense_data": why,
            "check_sample_weight_equivalence_on_sparse_data": why}


@parametrize_with_checks([
    MLPClassifier(hidden_layer_sizes=(16, 16), activation=["tanh", "prelu"], dropout=0.1,
                  batch_norm=True, max_iter=200),
    MLPRegressor(hidden_layer_sizes=(16, 16), activation=["gelu", "leaky_relu"],
                 dropout=0.1, batch_norm=True, weight_init="he_uniform", max_iter=300),
    MLPClassifier(hidden_layer_sizes=(5,), activation="elu", class_weight="balanced",
                  batch_norm=True, solver="lbfgs", max_iter=50),
], expected_failed_checks=_expected_failures)
def test_sklearn_compatible_with_extras(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)
