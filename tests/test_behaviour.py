"""Estimator behaviour: model selection, input errors, input layouts, hidden
activations.

The fitted arrays and their buffer are tested in test_state.py, the solvers'
records (verbose output, gradient norms) in test_solvers.py, failed fits
(rollback) in test_fit_transaction.py, pickle/joblib round trips in
test_persistence.py, Ctrl-C in test_runtime.py."""

import re

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.neural_network as skn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

import datasets
from cymlp import MLPClassifier, MLPRegressor
from model_checks import numpy_forward


pytestmark = pytest.mark.usefixtures("quiet")


def classification(n=150, d=5):
    return datasets.make("multiclass", n=n, d=d)


def regression(n=120, d=4):
    return datasets.make("regression", n=n, d=d)




# --------------------------------------------------------------------------
# Model selection
# --------------------------------------------------------------------------


def test_grid_search_over_pipeline_matches_sklearn():
    X, y = classification(n=120)
    X = X * 50 + 7  # the scaler matters
    grid = {"mlpclassifier__alpha": [1e-4, 1.0],
            "mlpclassifier__hidden_layer_sizes": [(4,), (8, 3)]}
    results = []
    for cls in (MLPClassifier, skn.MLPClassifier):
        pipe = make_pipeline(StandardScaler(),
                             cls(max_iter=30, learning_rate_init=0.02, random_state=0))
        search = GridSearchCV(pipe, grid, cv=3).fit(X, y)
        results.append(search)
    ours, ref = results
    assert ours.best_params_ == ref.best_params_
    assert_allclose(ours.cv_results_["mean_test_score"],
                    ref.cv_results_["mean_test_score"], rtol=1e-12)
    assert ours.best_score_ > 0.5   # chance: 1/3
    assert_array_equal(ours.predict(X), ref.predict(X))
    assert ours.predict_proba(X).shape == (120, 3)


# --------------------------------------------------------------------------
# Bad input: the exceptions and messages scikit-learn gives
# --------------------------------------------------------------------------


def _error_of(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - we compare the exact exception
        return exc
    raise AssertionError("no exception raised")


def _normalised(message):
    """The message with the items of every {...} set sorted (hash order varies)."""
    return re.sub(r"\{([^{}]*)\}",
                  lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}",
                  message)


def assert_same_error(make_ours, make_ref, call):
    """Both raise the same exception type with the same message."""
    ref_exc = _error_of(lambda: call(make_ref()))
    ours = _error_of(lambda: call(make_ours()))
    assert type(ours) is type(ref_exc)
    assert _normalised(str(ours)) == _normalised(str(ref_exc))
    return ours


def _with_value(X, value, where=(3, 1)):
    X = X.copy().astype(float)
    X[where] = value
    return X


@pytest.mark.parametrize("cls_name", ["MLPClassifier", "MLPRegressor"])
@pytest.mark.parametrize("problem", ["nan-X", "inf-X", "nan-y", "inf-y"])
def test_non_finite_input_errors(cls_name, problem):
    X, y = classification() if cls_name == "MLPClassifier" else regression()
    if problem.endswith("X"):
        X = _with_value(X, np.nan if problem.startswith("nan") else np.inf)
    else:
        y = y.astype(float)
        y[5] = np.nan if problem.startswith("nan") else np.inf
    ours = assert_same_error(lambda: getattr(__import__("cymlp"), cls_name)(max_iter=2),
                             lambda: getattr(skn, cls_name)(max_iter=2),
                             lambda est: est.fit(X, y))
    assert isinstance(ours, ValueError)
    word = "NaN" if problem.startswith("nan") else "infinity"
    assert word in str(ours) and ("Input " + problem[-1]) in str(ours)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "hidden_activations"])
def test_nan_at_predict(method):
    X, y = classification()
    est = MLPClassifier(max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        getattr(est, method)(_with_value(X, np.nan))


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score",
                                    "partial_fit", "hidden_activations"])
def test_wrong_number_of_features(method):
    X, y = classification(d=5)
    ours = MLPClassifier(max_iter=2, random_state=0).fit(X, y)
    ref = skn.MLPClassifier(max_iter=2, random_state=0).fit(X, y)
    args = (X[:, :3],) if method in ("predict", "predict_proba",
                                     "hidden_activations") else (X[:, :3], y)
    exc = _error_of(lambda: getattr(ours, method)(*args))
    assert isinstance(exc, ValueError)
    assert "X has 3 features, but MLPClassifier is expecting 5 features" in str(exc)
    if method != "hidden_activations":
        assert str(exc) == str(_error_of(lambda: getattr(ref, method)(*args)))


@pytest.mark.parametrize("label", [7, "only"])
def test_one_class_only_behaves_like_sklearn(label):
    # scikit-learn fits one class without complaint and always predicts it
    X, _ = classification()
    y = np.array([label] * len(X), dtype=object if isinstance(label, str) else int)
    ours = MLPClassifier(max_iter=5, random_state=0).fit(X, y)
    ref = skn.MLPClassifier(max_iter=5, random_state=0).fit(X, y)
    assert_array_equal(ours.classes_, [label])
    assert_array_equal(ours.predict(X), y)
    assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=1e-10)
    assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-10)


INVALID = [
    ("hidden_layer_sizes", "x"),
    ("activation", "softmax"),
    ("solver", "newton"),
    ("alpha", -1.0),
    ("batch_size", 0),
    ("learning_rate", "optimal"),
    ("learning_rate_init", 0.0),
    ("power_t", -0.5),
    ("max_iter", 0),
    ("shuffle", "yes"),
    ("random_state", "seed"),
    ("tol", -1e-3),
    ("momentum", 1.5),
    ("nesterovs_momentum", 1.5),
    ("early_stopping", None),
    ("validation_fraction", 1.0),
    ("beta_1", 1.0),
    ("beta_2", -0.1),
    ("epsilon", 0.0),
    ("n_iter_no_change", 0),
    ("max_fun", 0),
]


@pytest.mark.parametrize("cls_name", ["MLPClassifier", "MLPRegressor"])
@pytest.mark.parametrize("name, value", INVALID, ids=[p for p, _ in INVALID])
def test_invalid_parameters(cls_name, name, value):
    X, y = classification() if cls_name == "MLPClassifier" else regression()
    import cymlp

    if name in ("activation", "learning_rate"):  # cymlp accepts more: another list
        with pytest.raises(InvalidParameterError,
                           match=f"'{name}' parameter of {cls_name}.*Got '{value}'"):
            getattr(cymlp, cls_name)(**{name: value}).fit(X, y)
        return
    ours = assert_same_error(lambda: getattr(cymlp, cls_name)(**{name: value}),
                             lambda: getattr(skn, cls_name)(**{name: value}),
                             lambda est: est.fit(X, y))
    assert isinstance(ours, InvalidParameterError)
    assert f"'{name}' parameter of {cls_name}" in str(ours)


def test_invalid_regressor_loss():
    X, y = regression()
    with pytest.raises(InvalidParameterError, match="'loss' parameter of MLPRegressor"):
        MLPRegressor(loss="huber").fit(X, y)


@pytest.mark.parametrize("sizes", [(0,), (5, -1)])
def test_non_positive_hidden_layer_sizes(sizes):
    X, y = classification()
    ours = assert_same_error(lambda: MLPClassifier(hidden_layer_sizes=sizes),
                             lambda: skn.MLPClassifier(hidden_layer_sizes=sizes),
                             lambda est: est.fit(X, y))
    assert "hidden_layer_sizes must be > 0" in str(ours)


def test_partial_fit_errors_like_sklearn():
    X, y = classification()
    # classes required on the first call
    assert_same_error(lambda: MLPClassifier(), lambda: skn.MLPClassifier(),
                      lambda est: est.partial_fit(X, y))
    # a class not announced on the first call
    def unseen(est):
        est.partial_fit(X[y < 2], y[y < 2], classes=[0, 1])
        est.partial_fit(X, y)
    exc = assert_same_error(lambda: MLPClassifier(), lambda: skn.MLPClassifier(), unseen)
    assert "classes not in" in str(exc)
    # early stopping makes no sense one batch at a time
    exc = assert_same_error(lambda: MLPRegressor(early_stopping=True),
                            lambda: skn.MLPRegressor(early_stopping=True),
                            lambda est: est.partial_fit(*regression()))
    assert "early_stopping" in str(exc)


def test_warm_start_with_other_classes_fails_like_sklearn():
    X, y = classification()

    def refit(est):
        est.fit(X, y)
        est.fit(X[y < 2], y[y < 2])

    exc = assert_same_error(lambda: MLPClassifier(warm_start=True, max_iter=3),
                            lambda: skn.MLPClassifier(warm_start=True, max_iter=3), refit)
    assert "warm_start can only be used" in str(exc)


def test_warm_start_with_other_layer_sizes_is_refused():
    X, y = classification()
    est = MLPClassifier(hidden_layer_sizes=(4,), warm_start=True, max_iter=3,
                        random_state=0).fit(X, y)
    before = est._network_state.params_copy()
    est.set_params(hidden_layer_sizes=(6,))
    with pytest.raises(ValueError, match="Cannot resume training"):
        est.fit(X, y)
    assert_array_equal(est._network_state.params_copy(), before)
    assert est.coefs_[0].shape == (5, 4)


def test_poisson_rejects_negative_targets():
    X, y = regression()
    with pytest.raises(ValueError, match="negative.*Poisson"):
        MLPRegressor(loss="poisson").fit(X, y)


def test_sample_weight_length_is_checked():
    X, y = classification()
    assert_same_error(lambda: MLPClassifier(max_iter=2), lambda: skn.MLPClassifier(max_iter=2),
                      lambda est: est.fit(X, y, sample_weight=np.ones(len(y) - 1)))


def test_validation_set_too_small():
    X, y = regression(n=12)
    exc = assert_same_error(
        lambda: MLPRegressor(early_stopping=True, validation_fraction=0.05),
        lambda: skn.MLPRegressor(early_stopping=True, validation_fraction=0.05),
        lambda est: est.fit(X, y))
    assert "validation set is too small" in str(exc)


def test_not_fitted():
    X, _ = classification()
    for method in ("predict", "predict_proba", "hidden_activations"):
        with pytest.raises(NotFittedError):
            getattr(MLPClassifier(), method)(X)
    with pytest.raises(NotFittedError):
        MLPRegressor().predict(X)


# --------------------------------------------------------------------------
# Input layouts (failed fits and their rollback: test_fit_transaction.py)
# --------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["fortran", "strided", "float32-view", "list"])
def test_any_dense_layout_gives_the_same_model(layout):
    X, y = classification()
    wide = np.repeat(X, 2, axis=1)
    Xin = {"fortran": np.asfortranarray(X), "strided": wide[:, ::2],
           "float32-view": X, "list": X.tolist()}[layout]
    kw = dict(hidden_layer_sizes=(5,), max_iter=4, random_state=0)
    ref = MLPClassifier(**kw).fit(X, y)
    est = MLPClassifier(**kw).fit(Xin, y)
    assert_array_equal(est._network_state.params_copy(), ref._network_state.params_copy())
    assert_array_equal(est.predict_proba(Xin), ref.predict_proba(X))


# --------------------------------------------------------------------------
# verbose, hidden activations, gradient norms
# --------------------------------------------------------------------------


@pytest.mark.parametrize("sizes", [(), (6,), (6, 5, 4)])
@pytest.mark.parametrize("sparse", [False, True])
def test_hidden_activations(sizes, sparse):
    X, y = classification()
    est = MLPClassifier(hidden_layer_sizes=sizes, activation="tanh", max_iter=3,
                        random_state=0).fit(X, y)
    Xin = sp.csc_matrix(X) if sparse else X
    layers = est.hidden_activations(Xin[:17])
    assert isinstance(layers, list)
    assert [a.shape for a in layers] == [(17, s) for s in sizes]
    for got, want in zip(layers, numpy_forward(est, X[:17])[:-1]):
        assert_allclose(got, want, rtol=1e-12, atol=1e-14)


