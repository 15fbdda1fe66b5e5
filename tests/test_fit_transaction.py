"""The fit transaction: a failed fit leaves the estimator exactly as it was.

A fit, warm-started fit or partial_fit whose weights become non-finite
raises ValueError and leaves every attribute exactly as it was before the
call (deep comparison of ``__dict__``, the same array objects, coefs_ still
views of the network's flat buffer), and training afterwards goes on exactly
as if the failed call had never happened. A first fit that fails leaves an
unfitted estimator.
"""

import copy
import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.exceptions import NotFittedError

import datasets
from cymlp import MLPClassifier, MLPRegressor
from model_checks import assert_same_state, assert_unfitted, assert_views_of_flat

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),  # overflow while diverging
]

NON_FINITE = "non-finite parameter weights"


def undo_blow_up(est, snapshot):
    """Put back the constructor parameters the test changed to make the fit fail."""
    est.set_params(**{name: snapshot.get_params()[name] for name in BLOW_UP})


# --------------------------------------------------------------------------
# Diverging fits
# --------------------------------------------------------------------------

STOCHASTIC_KINDS = {
    # name: (estimator class, data kind, constructor parameters)
    "sgd-classifier": (MLPClassifier, "multiclass", dict(solver="sgd")),
    "adam-classifier": (MLPClassifier, "binary", dict(solver="adam")),
    "sgd-regressor": (MLPRegressor, "regression", dict(solver="sgd")),
    "adam-multi-output": (MLPRegressor, "multi-output", dict(solver="adam")),
    "extras": (MLPClassifier, "multiclass",
               dict(activation=["prelu", "elu"], batch_norm=True, dropout=0.2,
                    hidden_layer_sizes=(6, 5))),
    "extras-regressor": (MLPRegressor, "regression",
                         dict(activation=["gelu", "prelu"], batch_norm=True,
                              dropout=[0.1, 0.0], hidden_layer_sizes=(6, 5),
                              weight_init="he_uniform")),
    "early-stopping": (MLPClassifier, "multiclass",
                       dict(solver="sgd", early_stopping=True, n_iter_no_change=50)),
    "float32": (MLPRegressor, "regression", dict(solver="adam")),
}
BLOW_UP = dict(learning_rate_init=1e300, batch_size=10)
# The other way to blow up: a large (not absurd) rate on huge data
HUGE_DATA, HUGE_DATA_RATE = 1e200, dict(learning_rate_init=1e10, batch_size=10)


def make(name, **extra):
    cls, kind, params = STOCHASTIC_KINDS[name]
    params = dict(dict(hidden_layer_sizes=(5,), max_iter=4, random_state=0), **params,
                  **extra)
    X, y = datasets.make(kind)
    if name == "float32":
        X = X.astype(np.float32)
    return cls, params, X, y


@pytest.mark.parametrize("name, trigger", [
    *[(name, "learning-rate") for name in sorted(STOCHASTIC_KINDS)],
    ("sgd-classifier", "huge-data"), ("sgd-regressor", "huge-data"),
])
def test_diverging_fresh_fit_leaves_estimator_unfitted(name, trigger):
    cls, params, X, y = make(name, **(BLOW_UP if trigger == "learning-rate"
                                      else HUGE_DATA_RATE))
    est = cls(**params)
    with pytest.raises(ValueError, match=NON_FINITE):
        est.fit(X if trigger == "learning-rate" else X * HUGE_DATA, y)
    assert_unfitted(est, cls, params)
    with pytest.raises(NotFittedError):
        est.predict(X)
    # and a sane fit afterwards is the one it would have been
    est.set_params(learning_rate_init=1e-3).fit(X, y)
    ref = cls(**dict(params, learning_rate_init=1e-3)).fit(X, y)
    assert_array_equal(est._network_state.params_copy(), ref._network_state.params_copy())


@pytest.mark.parametrize("name", sorted(STOCHASTIC_KINDS))
def test_diverging_warm_start_keeps_everything(name):
    cls, params, X, y = make(name, warm_start=True)
    est = cls(**params).fit(X, y)
    snapshot = copy.deepcopy(est)
    held = (est.coefs_, list(est.coefs_), est._network_state, est.loss_curve_)
    out = est.predict(X)
    est.set_params(**BLOW_UP)
    with pytest.raises(ValueError, match=NON_FINITE):
        est.fit(X, y)
    undo_blow_up(est, snapshot)
    assert_same_state(est, snapshot)
    # the same objects, not equal copies: arrays a user holds stay the model's
    assert est.coefs_ is held[0] and all(a is b for a, b in zip(est.coefs_, held[1]))
    assert est._network_state is held[2] and est.loss_curve_ is held[3]
    assert est._network_state.owns(held[1]), "the buffer the user's arrays view was swapped"
    assert_views_of_flat(est)
    assert_array_equal(est.predict(X), out)
    # training goes on as if the failed call never happened
    est.fit(X, y)
    snapshot.fit(X, y)
    assert_same_state(est, snapshot)


@pytest.mark.parametrize("name", ["sgd-classifier", "sgd-regressor", "adam-multi-output",
                                  "extras-regressor", "float32"])
def test_diverging_partial_fit_keeps_everything(name):
    # Adam's steps are bounded by its learning rate: classifiers (bounded
    # loss) diverge on huge data only with SGD, several steps per call (and
    # without batch norm, which normalizes the huge inputs away).
    cls, params, X, y = make(name, batch_size=10)
    if cls is MLPClassifier or name == "extras-regressor":
        params["solver"] = "sgd"
    classes = {"classes": np.unique(y)} if cls is MLPClassifier else {}
    est = cls(**params)
    est.partial_fit(X, y, **classes)
    est.partial_fit(X, y)
    snapshot = copy.deepcopy(est)
    # partial_fit keeps its optimizer (and learning rate): blow up with the data
    huge = 1e38 if X.dtype == np.float32 else 1e300
    y_huge = y if cls is MLPClassifier else y * huge
    with pytest.raises(ValueError, match=NON_FINITE):
        est.partial_fit(X * huge, y_huge)
    assert_same_state(est, snapshot)
    assert_views_of_flat(est)
    est.partial_fit(X, y)
    snapshot.partial_fit(X, y)
    assert_same_state(est, snapshot)


@pytest.mark.parametrize("name", ["sgd-classifier", "sgd-regressor", "extras",
                                  "extras-regressor"])
def test_diverging_first_partial_fit_leaves_estimator_unfitted(name):
    cls, params, X, y = make(name, **BLOW_UP)
    classes = {"classes": np.unique(y)} if cls is MLPClassifier else {}
    est = cls(**params)
    with pytest.raises(ValueError, match=NON_FINITE):
        est.partial_fit(X, y, **classes)
    assert_unfitted(est, cls, params)
    with pytest.raises(NotFittedError):
        est.predict(X)


def test_lbfgs_fit_with_non_finite_loss_is_refused_and_rolled_back():
    # L-BFGS never accepts a step to non-finite weights, so this fit's weights
    # stay finite; its loss does not (squares of 1e300 overflow). The fit
    # returns with loss_ = nan and n_iter_ = 0 over the warm-started model.
    # Expected, as for the stochastic solvers: ValueError, nothing changed.
    X, y = datasets.make("regression")
    est = MLPRegressor(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=20,
                       warm_start=True, random_state=0).fit(X, y)
    snapshot = copy.deepcopy(est)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError):
            est.fit(X * 1e300, y * 1e300)
    assert_same_state(est, snapshot)
