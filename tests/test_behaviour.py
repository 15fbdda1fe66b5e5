"""Estimator behaviour: model selection, input errors, input layouts, the flat
parameter buffer and copies, verbose output, hidden activations and
gradient norms.

Failed fits (rollback) and pickle/joblib round trips are tested in
test_reliability_state.py, Ctrl-C in test_reliability_runtime.py."""

import copy
import pickle
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.neural_network as skn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network._base import ACTIVATIONS, LOSS_FUNCTIONS
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from cymlp import MLPClassifier, MLPRegressor


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def classification(n=150, d=5, classes=3, seed=0):
    X, y = make_classification(n, d, n_informative=3, n_redundant=0, n_classes=classes,
                               random_state=seed)
    return X, y


def regression(n=120, d=4, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    return X, X @ rng.randn(d) + 0.1 * rng.randn(n)


def numpy_forward(est, X, coefs=None, intercepts=None):
    """Every layer's output by plain numpy, from the estimator's weights."""
    coefs = est.coefs_ if coefs is None else coefs
    intercepts = est.intercepts_ if intercepts is None else intercepts
    a = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    layers = []
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        a = a @ np.asarray(W, dtype=np.float64) + np.asarray(b, dtype=np.float64)
        last = i == len(coefs) - 1
        ACTIVATIONS[est.out_activation_ if last else est.activation](a)
        layers.append(a)
    return layers


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
    assert ours.best_score_ > 0.6
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
# Input layouts (failed fits and their rollback: test_reliability_state.py)
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
# The flat parameter buffer and copies
# --------------------------------------------------------------------------


def _fitted_classifier(**kw):
    X, y = classification()
    params = dict(hidden_layer_sizes=(6, 4), max_iter=5, random_state=0)
    params.update(kw)
    return MLPClassifier(**params).fit(X, y), X


def assert_views_of_flat(est):
    flat = est._network_state.params_copy()
    arrays = est.coefs_ + est.intercepts_
    assert est._network_state.owns(arrays)
    assert flat.size == sum(a.size for a in arrays)
    # scikit-learn's packing order: every weight matrix, then every bias
    assert_array_equal(np.concatenate([a.ravel() for a in arrays]), flat)


def test_coefs_and_intercepts_are_views_of_one_buffer():
    est, X = _fitted_classifier()
    assert_views_of_flat(est)
    assert [c.shape for c in est.coefs_] == [(5, 6), (6, 4), (4, 3)]
    proba = est.predict_proba(X)
    est.coefs_[1][:] = 0.0  # in place: seen by predict
    est.intercepts_[1][:] = 0.0
    changed = est.predict_proba(X)
    assert not np.allclose(changed, proba)
    assert_allclose(changed, numpy_forward(est, X)[-1], rtol=1e-12)


def test_deepcopy_is_independent():
    est, X = _fitted_classifier()
    proba = est.predict_proba(X)
    other = copy.deepcopy(est)
    assert_views_of_flat(other)
    assert not np.shares_memory(other.coefs_[0].base, est.coefs_[0].base)
    other.coefs_[0][:] = 0.0
    assert_array_equal(est.predict_proba(X), proba)


def test_replacing_a_coef_array_is_honoured():
    est, X = _fitted_classifier()
    new = np.random.RandomState(1).randn(*est.coefs_[0].shape)
    est.coefs_[0] = new
    expected = numpy_forward(est, X)[-1]
    assert_allclose(est.predict_proba(X), expected, rtol=1e-12)
    assert_views_of_flat(est)  # repacked into a buffer again
    assert_array_equal(est.coefs_[0], new)
    # and so does a pickle of it
    assert_allclose(pickle.loads(pickle.dumps(est)).predict_proba(X), expected, rtol=1e-12)


def test_replacing_the_coefs_list_is_honoured():
    est, X = _fitted_classifier()
    est.coefs_ = [2.0 * c for c in est.coefs_]
    est.intercepts_ = [b - 0.1 for b in est.intercepts_]
    assert_allclose(est.predict_proba(X), numpy_forward(est, X)[-1], rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_replacing_a_coef_with_another_dtype_keeps_the_model_dtype(dtype):
    # scikit-learn computes with whatever array is there; the model stays float64
    est, X = _fitted_classifier()
    new = np.ones(est.coefs_[0].shape, dtype=dtype)
    expected = numpy_forward(est, X, coefs=[new] + est.coefs_[1:])[-1]
    est.coefs_[0] = new
    proba = est.predict_proba(X)
    assert proba.dtype == np.float64
    assert_allclose(proba, expected, rtol=1e-12)
    assert est.coefs_[1].dtype == np.float64


def test_replaced_coefs_used_by_warm_start():
    X, y = regression()
    a = MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, warm_start=True,
                     random_state=0).fit(X, y)
    b = copy.deepcopy(a)
    a.coefs_[0] = a.coefs_[0] * 0.5
    b.coefs_[0][:] *= 0.5
    a.fit(X, y)
    b.fit(X, y)
    assert_allclose(a._network_state.params_copy(), b._network_state.params_copy(), rtol=1e-14)


# --------------------------------------------------------------------------
# verbose, hidden activations, gradient norms
# --------------------------------------------------------------------------


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
