"""skops.io persistence: every fitted model round-trips and trains on identically.

The only types skops reports as untrusted are cymlp's estimators and its
optimizer state classes (the names the README tells users to trust).
"""


import numpy as np
import pytest

sio = pytest.importorskip("skops.io")

import datasets  # noqa: E402
from cymlp import MLPClassifier, MLPRegressor  # noqa: E402

CYMLP_TYPES = {
    "cymlp._classes.MLPClassifier",
    "cymlp._classes.MLPRegressor",
    "cymlp._optim.SGDState",
    "cymlp._optim.AdamState",
}

EXTRAS = {
    "plain": {},
    "layers": {"hidden_layer_sizes": (5, 4), "activation": ["prelu", "gelu"],
               "batch_norm": True, "negative_slope": 0.1},
    "elu_leaky_dropout": {"hidden_layer_sizes": (5, 4), "activation": ["elu", "leaky_relu"],
                          "dropout": 0.2},
    "no_hidden": {"hidden_layer_sizes": ()},
    "early_stopping": {"early_stopping": True, "validation_fraction": 0.2},
}


pytestmark = pytest.mark.usefixtures("quiet")


def _data(kind):
    X, y = datasets.make(kind, n=80, d=5)
    if kind == "multiclass":  # string labels
        return X, np.array(["a", "b", "c"])[y]
    return X, y


def _round_trip(model):
    data = sio.dumps(model)
    untrusted = sio.get_untrusted_types(data=data)
    assert set(untrusted) <= CYMLP_TYPES, untrusted
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.loads(data)
    return sio.loads(data, trusted=untrusted)


def _continue(model, X, y):
    """One more step of training: partial_fit, or a warm-started fit."""
    if model.solver != "lbfgs" and not model.early_stopping:
        return model.partial_fit(X, y)
    return model.set_params(warm_start=True, max_iter=3).fit(X, y)


@pytest.mark.parametrize("extras", list(EXTRAS))
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("kind", ["multiclass", "multilabel", "regression", "poisson"])
def test_round_trip_and_continue_training(kind, solver, extras):
    params = dict(EXTRAS[extras])
    if solver == "lbfgs" and ("dropout" in params or "early_stopping" in params):
        pytest.skip("dropout and early stopping need a stochastic solver")
    X, y = _data(kind)
    if kind in ("multiclass", "multilabel"):
        model = MLPClassifier(solver=solver, max_iter=4, random_state=0, **params)
    else:
        loss = "poisson" if kind == "poisson" else "squared_error"
        model = MLPRegressor(loss=loss, solver=solver, max_iter=4, random_state=0, **params)
    dtype = np.float32 if extras == "layers" else np.float64
    model.fit(X.astype(dtype), y)
    loaded = _round_trip(model)

    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    if kind != "regression" and kind != "poisson":
        np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.coefs_[0].dtype == dtype
    # the fitted arrays are views of the loaded flat buffer, not copies
    assert loaded._network_state.owns(loaded.coefs_)

    _continue(model, X, y)
    _continue(loaded, X, y)
    assert loaded.n_iter_ == model.n_iter_ and loaded.t_ == model.t_
    for a, b in zip(loaded.coefs_ + loaded.intercepts_, model.coefs_ + model.intercepts_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_class_weight_and_feature_names_round_trip():
    pd = pytest.importorskip("pandas")
    X, y = _data("multiclass")
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    model = MLPClassifier((4,), class_weight={"a": 2.0, "b": 1.0, "c": 0.5}, solver="sgd",
                          learning_rate="adaptive", max_iter=4, random_state=0).fit(df, y)
    loaded = _round_trip(model)
    np.testing.assert_array_equal(loaded.feature_names_in_, model.feature_names_in_)
    np.testing.assert_array_equal(loaded.predict_proba(df), model.predict_proba(df))
    np.testing.assert_array_equal(loaded.partial_fit(df, y).predict_proba(df),
                                  model.partial_fit(df, y).predict_proba(df))


def test_unfitted_round_trip():
    model = MLPRegressor(hidden_layer_sizes=(3,), activation="gelu")
    loaded = _round_trip(model)
    assert loaded.get_params() == model.get_params()
