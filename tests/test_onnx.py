"""ONNX export (cymlp.onnx): onnxruntime's outputs against predict / predict_proba.

float32 graphs must match within 1e-5 absolute, float64 graphs within 1e-9
relative; labels must equal ``predict``. Every graph runs in onnxruntime:
float64 GELU builds Phi from elementary ops (onnxruntime has no float64
Erf or Gelu kernel).
"""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

ort = pytest.importorskip("onnxruntime")
skl2onnx = pytest.importorskip("skl2onnx")
# Not importorskip: with skl2onnx and onnxruntime installed, a cymlp.onnx
# that fails to import is a broken build, and must fail the run.
import cymlp.onnx as cymlp_onnx  # noqa: E402

from cymlp import MLPClassifier, MLPRegressor  # noqa: E402

ACTIVATIONS = ["identity", "logistic", "tanh", "relu", "leaky_relu", "prelu", "elu", "gelu"]
DTYPES = [np.float32, np.float64]


pytestmark = pytest.mark.usefixtures("quiet")


def _data(n_classes=3, n=120, seed=0):
    X, y = make_classification(n, n_features=5, n_informative=4, n_redundant=0,
                               n_classes=n_classes, random_state=seed)
    return X, y


def _run(onx, X):
    """Outputs of the graph on X, in onnxruntime."""
    sess = ort.InferenceSession(onx.SerializeToString(),
                                providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: X})


def _assert_close(actual, expected, dtype):
    assert actual.dtype == dtype
    if dtype == np.float32:
        np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-5)
    else:
        np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-300)


def _with_scaler(model, X):
    """The fitted model after a StandardScaler that maps X * 2 + 1 to X standardized."""
    return Pipeline([("scale", StandardScaler().fit(X * 2 + 1)), ("mlp", model)])


def _check_classifier(model, X, dtype, options=None, **kwargs):
    """The model's graph, alone and after a StandardScaler, against predict(_proba)."""
    opts = {"zipmap": False, **(options or {})}
    for estimator, Xe in ((model, X), (_with_scaler(model, X), X * 2 + 1)):
        Xd = Xe.astype(dtype)
        onx = skl2onnx.to_onnx(estimator, Xd[:1], options={id(model): opts}, **kwargs)
        labels, proba = _run(onx, Xd)
        np.testing.assert_array_equal(labels, estimator.predict(Xe))
        _assert_close(proba, estimator.predict_proba(Xe), dtype)
        if estimator is model:
            model_onx = onx
    return model_onx


def _check_regressor(model, X, dtype, options=None, **kwargs):
    """The model's graph, alone and after a StandardScaler, against predict."""
    for estimator, Xe in ((model, X), (_with_scaler(model, X), X * 2 + 1)):
        Xd = Xe.astype(dtype)
        onx = skl2onnx.to_onnx(estimator, Xd[:1], options={id(model): options or {}},
                               **kwargs)
        (pred,) = _run(onx, Xd)
        _assert_close(pred, estimator.predict(Xe).reshape(len(Xe), -1), dtype)
        if estimator is model:
            model_onx = onx
    return model_onx


def _ops(onx):
    return {node.op_type for node in onx.graph.node}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation(activation, dtype):
    X, y = _data()
    model = MLPClassifier((6, 4), activation=activation, negative_slope=0.2,
                          max_iter=30, random_state=0).fit(X, y)
    if activation == "prelu":  # slopes learned away from their start, per unit
        assert np.ptp(model.prelu_slopes_[0]) > 0
    _check_classifier(model, X, dtype)


@pytest.mark.parametrize("bn_mode", ["fold", "node"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_per_layer_extras_batch_norm_dropout(dtype, bn_mode):
    X, y = _data()
    model = MLPClassifier((6, 5, 4, 3), activation=["prelu", "elu", "leaky_relu", "tanh"],
                          negative_slope=0.3, batch_norm=True, dropout=[0.2, 0.0, 0.1, 0.0],
                          max_iter=30, random_state=0).fit(X, y)
    assert not np.allclose(model.batch_norm_running_var_[0], 1.0)
    onx = _check_classifier(model, X, dtype, options={"batch_norm": bn_mode})
    assert ("BatchNormalization" in _ops(onx)) == (bn_mode == "node")
    assert "Dropout" not in _ops(onx)


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm_lbfgs_statistics(dtype):
    X, y = _data(2)
    model = MLPClassifier((5,), batch_norm=True, solver="lbfgs", max_iter=20,
                          random_state=0).fit(X * 3 + 1, y)
    _check_classifier(model, X * 3 + 1, dtype)


def test_float32_gelu_erf_below_opset_20():
    X, y = _data()
    model = MLPClassifier((5,), activation="gelu", max_iter=30, random_state=0).fit(X, y)
    onx = _check_classifier(model, X, np.float32, target_opset=18)
    assert "Erf" in _ops(onx) and "Gelu" not in _ops(onx)
    onx = _check_classifier(model, X, np.float32)
    assert "Gelu" in _ops(onx)


@pytest.mark.parametrize("opset", [18, 21])
def test_float64_gelu_runs_in_onnxruntime_at_any_opset(opset):
    # onnxruntime has no float64 Erf or Gelu: Phi from Abs, Div, Exp, Mul, Add
    # and Where, as cymlp's kernel computes it
    X, y = _data()
    model = MLPClassifier((6, 4), activation="gelu", max_iter=30, random_state=0).fit(X, y)
    onx = _check_classifier(model, X, np.float64, target_opset=opset)
    assert not {"Erf", "Gelu"} & _ops(onx)


def test_float64_gelu_graph_matches_the_kernel_over_its_range():
    # predict = GELU(z) unit by unit (identity output, identity weights), z
    # from -45 to 45: both tails, the cut of Phi to 0 at z = -37.5, and 8.5,
    # where 1 - Phi rounds to 1
    rng = np.random.RandomState(0)
    X = np.linspace(-1, 1, 4001).reshape(-1, 1)
    model = MLPRegressor(hidden_layer_sizes=(3,), activation="gelu", max_iter=2,
                         random_state=0).fit(X, rng.normal(size=(len(X), 3)))
    model.coefs_[0][...] = [[45.0, 9.0, 1.5]]
    model.intercepts_[0][...] = [0.0, 0.1, -0.2]
    model.coefs_[1][...] = np.eye(3)
    model.intercepts_[1][...] = 0.0
    expected = model.predict(X)
    z = X @ model.coefs_[0] + model.intercepts_[0]
    assert z.min() < -40 and z.max() > 40 and (expected[z < -37.5] == 0).all()
    assert (expected[(z > -37.5) & (z < -30)] < 0).all()      # the far left tail
    (got,) = _run(skl2onnx.to_onnx(model, X[:1]), X)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-300)


def test_float32_model():
    X, y = _data()
    X = X.astype(np.float32)
    model = MLPClassifier((6, 4), activation=["gelu", "prelu"], batch_norm=True,
                          max_iter=30, random_state=0).fit(X, y)
    assert model.coefs_[0].dtype == np.float32
    _check_classifier(model, X, np.float32)


@pytest.mark.parametrize("dtype", DTYPES)
def test_no_hidden_layer(dtype):
    X, y = _data()
    model = MLPClassifier((), max_iter=30, random_state=0).fit(X, y)
    _check_classifier(model, X, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("labels", [
    [0, 1], [3, 7], ["no", "yes"], [False, True], [-1.0, 2.0],
])
def test_binary_labels(labels, dtype):
    X, y = _data(2)
    y = np.array(labels)[y]
    model = MLPClassifier((5,), max_iter=30, random_state=0).fit(X, y)
    _check_classifier(model, X, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_multiclass_string_labels(dtype):
    X, y = _data(4)
    y = np.array(["ant", "bee", "cat", "dog"])[y]
    model = MLPClassifier((6,), max_iter=30, random_state=0).fit(X, y)
    _check_classifier(model, X, dtype)
    _check_classifier(model.fit(X, y.astype(object)), X, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_multilabel(dtype):
    X, y = _data(3)
    Y = np.c_[y == 0, y == 1, y != 1].astype(int)
    model = MLPClassifier((6,), max_iter=30, random_state=0).fit(X, Y)
    onx = _check_classifier(model, X, dtype)
    assert list(onx.graph.output[0].type.tensor_type.shape.dim)[1].dim_value == 3


def test_zipmap_nocl_output_class_labels():
    X, y = _data(3)
    y = np.array(["a", "b", "c"])[y]
    model = MLPClassifier((5,), max_iter=30, random_state=0).fit(X, y)
    X32 = X.astype(np.float32)
    proba = model.predict_proba(X)

    labels, maps = _run(skl2onnx.to_onnx(model, X32[:1]), X32)  # zipmap by default
    np.testing.assert_array_equal(labels, model.predict(X))
    assert list(maps[0]) == ["a", "b", "c"]
    np.testing.assert_allclose([[m[c] for c in "abc"] for m in maps], proba, atol=1e-5)

    outs = _run(skl2onnx.to_onnx(model, X32[:1], options={"zipmap": "columns"}), X32)
    np.testing.assert_allclose(np.c_[tuple(outs[1:])], proba, atol=1e-5)

    labels, _ = _run(skl2onnx.to_onnx(
        model, X32[:1], options={id(model): {"zipmap": False, "nocl": True}}), X32)
    np.testing.assert_array_equal(labels, np.searchsorted(model.classes_, model.predict(X)))

    outs = _run(skl2onnx.to_onnx(model, X32[:1], options={
        id(model): {"zipmap": False, "output_class_labels": True}}), X32)
    np.testing.assert_array_equal(outs[2], model.classes_)


@pytest.mark.parametrize("dtype", DTYPES)
def test_regressors(dtype):
    X, y = make_regression(120, n_features=5, n_targets=2, random_state=0)
    X = StandardScaler().fit_transform(X)
    y = y / y.std()
    single = MLPRegressor(hidden_layer_sizes=(6,), activation="tanh", batch_norm=True,
                          max_iter=30, random_state=0).fit(X, y[:, 0])
    _check_regressor(single, X, dtype)
    multi = MLPRegressor(hidden_layer_sizes=(6, 4), activation=["elu", "prelu"],
                         max_iter=30, random_state=0).fit(X, y)
    _check_regressor(multi, X, dtype)
    poisson = MLPRegressor(loss="poisson", hidden_layer_sizes=(5,), max_iter=30,
                           random_state=0).fit(X, np.exp(y / 2))
    onx = _check_regressor(poisson, X, dtype)
    assert "Exp" in _ops(onx)


@pytest.mark.parametrize("dtype", DTYPES)
def test_in_pipeline_with_scaler(dtype):
    X, y = _data(3)
    X = X * [1, 10, 100, 0.1, 5] + 3
    clf = make_pipeline(StandardScaler(), MLPClassifier(
        (6,), activation="gelu", batch_norm=True, max_iter=30, random_state=0)).fit(X, y)
    Xd = X.astype(dtype)
    onx = skl2onnx.to_onnx(clf, Xd[:1], options={"zipmap": False})
    labels, proba = _run(onx, Xd)
    np.testing.assert_array_equal(labels, clf.predict(X))
    _assert_close(proba, clf.predict_proba(X), dtype)

    reg = make_pipeline(StandardScaler(), MLPRegressor(
        hidden_layer_sizes=(6,), activation="prelu", max_iter=30, random_state=0)
    ).fit(X, y.astype(float))
    (pred,) = _run(skl2onnx.to_onnx(reg, Xd[:1]), Xd)
    _assert_close(pred, reg.predict(X).reshape(-1, 1), dtype)


def test_in_column_transformer_pipeline():
    X, y = _data(2)
    pipe = make_pipeline(
        ColumnTransformer([("scale", StandardScaler(), [0, 1, 2]),
                           ("keep", "passthrough", [3, 4])]),
        MLPClassifier((5,), activation="elu", max_iter=30, random_state=0),
    ).fit(X, y)
    X32 = X.astype(np.float32)
    onx = skl2onnx.to_onnx(pipe, X32[:1], options={"zipmap": False})
    labels, proba = _run(onx, X32)
    np.testing.assert_array_equal(labels, pipe.predict(X))
    _assert_close(proba, pipe.predict_proba(X), np.float32)


def test_to_onnx_shortcut_and_precision():
    X, y = _data(3)
    model = MLPClassifier((5,), max_iter=30, random_state=0).fit(X, y)
    onx = cymlp_onnx.to_onnx(model, options={"zipmap": False})
    assert onx.graph.input[0].type.tensor_type.elem_type == 1  # float32 by default
    assert all(init.data_type == 1 for init in onx.graph.initializer
               if init.name.startswith("coefficient"))
    labels, proba = _run(onx, X.astype(np.float32))
    np.testing.assert_array_equal(labels, model.predict(X))
    onx = cymlp_onnx.to_onnx(model, X[:1], options={"zipmap": False})
    assert onx.graph.input[0].type.tensor_type.elem_type == 11  # float64 input
    _assert_close(_run(onx, X)[1], model.predict_proba(X), np.float64)


def test_target_opset_followed():
    X, y = _data(3)
    model = MLPClassifier((5,), max_iter=5, random_state=0).fit(X, y)
    for opset in (15, 21):
        onx = skl2onnx.to_onnx(model, X[:1].astype(np.float32), target_opset=opset)
        assert {o.version for o in onx.opset_import if o.domain == ""} == {opset}


def test_errors_are_clear():
    X, y = _data(3)
    with pytest.raises(NotFittedError):
        skl2onnx.to_onnx(MLPClassifier(), X[:1].astype(np.float32))
    with pytest.raises(NotFittedError):
        skl2onnx.to_onnx(MLPRegressor(), X[:1].astype(np.float32))
    model = MLPClassifier((5,), max_iter=5, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="option 'batch_norm'"):
        skl2onnx.to_onnx(model, X[:1], options={id(model): {"batch_norm": "bogus"}})
    network = model._network_state
    network.config = {**network.config, "activations": ["swish"]}
    with pytest.raises(ValueError, match="hidden activation 'swish'"):
        skl2onnx.to_onnx(model, X[:1].astype(np.float32))

    model = MLPClassifier((5,), max_iter=5, random_state=0).fit(X, y.astype(float))
    model.classes_ = model.classes_ + 0.5  # scikit-learn rejects such labels in fit
    with pytest.raises(ValueError, match="not whole numbers"):
        skl2onnx.to_onnx(model, X[:1], options={"zipmap": False})
    onx = skl2onnx.to_onnx(model, X[:1], options={"zipmap": False, "nocl": True})
    labels, _ = _run(onx, X)
    np.testing.assert_array_equal(labels, model.predict(X))  # indices 0, 1, 2

    Y = np.c_[y == 0, y == 1].astype(int)
    model = MLPClassifier((5,), max_iter=5, random_state=0).fit(X, Y)
    with pytest.raises(ValueError, match="multilabel"):
        skl2onnx.to_onnx(model, X[:1].astype(np.float32))


def test_import_cymlp_does_not_import_onnx():
    code = ("import sys, cymlp; bad = [m for m in ('skl2onnx', 'onnx', 'onnxruntime') "
            "if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
