"""Saving and loading fitted models: every way the docs name restores them exactly.

Fitted models of every kind (``PICKLE_KINDS``) survive every way to save
  them that the docs name (``HOWS``: pickle protocols 2 to 5, joblib.dump/load
  plain, compressed and memory-mapped, skops.io): identical predictions,
  coefs_/intercepts_ and the extras still views of the flat buffers of the
  network state, and training resumes identically.
"""

import io
import pickle

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

import datasets
from cymlp import MLPClassifier, MLPRegressor
from model_checks import assert_same_state, assert_views_of_flat

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),  # overflow while diverging
]

# --------------------------------------------------------------------------
# Pickle and joblib
# --------------------------------------------------------------------------

PICKLE_KINDS = {
    "float32": lambda: (MLPClassifier((8, 4), max_iter=5, random_state=0), "multiclass",
                        np.float32, False),
    "prelu-batchnorm-dropout": lambda: (
        MLPClassifier((6, 5), activation=["prelu", "gelu"], batch_norm=True,
                      dropout=[0.2, 0.1], max_iter=5, random_state=0),
        "multiclass", np.float64, False),
    "float32-extras": lambda: (
        MLPRegressor(hidden_layer_sizes=(6,), activation="prelu", batch_norm=True,
                     dropout=0.3, max_iter=5, random_state=0),
        "regression", np.float32, False),
    "multilabel": lambda: (MLPClassifier((6,), max_iter=5, random_state=0), "multilabel",
                           np.float64, False),
    "sparse-trained": lambda: (MLPClassifier((6,), max_iter=5, random_state=0), "binary",
                               np.float64, True),
    "lbfgs": lambda: (MLPClassifier((6,), solver="lbfgs", max_iter=20, random_state=0),
                      "multiclass", np.float64, False),
    "lbfgs-batchnorm": lambda: (
        MLPRegressor(hidden_layer_sizes=(6,), solver="lbfgs", batch_norm=True, max_iter=20,
                     random_state=0), "regression", np.float64, False),
    "regressor-multi-output": lambda: (
        MLPRegressor(hidden_layer_sizes=(7, 3), max_iter=5, random_state=0),
        "multi-output", np.float64, False),
    "poisson": lambda: (MLPRegressor(loss="poisson", hidden_layer_sizes=(4,), max_iter=5,
                                     random_state=0), "poisson", np.float64, False),
    "sgd-early-stopping": lambda: (
        MLPClassifier((6,), solver="sgd", early_stopping=True, max_iter=5, random_state=0),
        "multiclass", np.float64, False),
    "no-hidden-layer": lambda: (MLPRegressor(hidden_layer_sizes=(), max_iter=5,
                                             random_state=0), "regression", np.float64,
                                False),
    "class-weight": lambda: (MLPClassifier((5,), class_weight="balanced", max_iter=5,
                                           random_state=0), "multiclass", np.float64,
                             False),
}


def fitted(kind):
    est, data_kind, dtype, sparse = PICKLE_KINDS[kind]()
    X, y = datasets.make(data_kind)
    X = X.astype(dtype)
    if sparse:
        X = sp.csr_matrix(X)
    return est.fit(X, y), X, y


def outputs(est, X):
    out = [est.predict(X)] + est.hidden_activations(X)
    if isinstance(est, MLPClassifier):
        out.append(est.predict_proba(X))
    return out


def dump_load(est, how, tmp_path):
    if how == "pickle-5-out-of-band":
        buffers = []
        payload = pickle.dumps(est, protocol=5, buffer_callback=buffers.append)
        return pickle.loads(payload, buffers=buffers)
    if how.startswith("pickle-"):
        return pickle.loads(pickle.dumps(est, protocol=int(how[-1])))
    path = tmp_path / "model.joblib"
    if how == "joblib":
        joblib.dump(est, path)
        return joblib.load(path)
    if how == "joblib-compressed":
        joblib.dump(est, path, compress=3)
        return joblib.load(path)
    if how == "joblib-mmap":
        joblib.dump(est, path)
        return joblib.load(path, mmap_mode="r")
    assert how == "skops"
    sio = pytest.importorskip("skops.io")
    data = sio.dumps(est)
    return sio.loads(data, trusted=sio.get_untrusted_types(data=data))


# every way to save a model that the docs name
HOWS = ["pickle-2", "pickle-3", "pickle-4", "pickle-5", "pickle-5-out-of-band", "joblib",
        "joblib-compressed", "joblib-mmap", "skops"]


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("kind", sorted(PICKLE_KINDS))
def test_round_trip_predicts_identically(kind, how, tmp_path):
    est, X, y = fitted(kind)
    expected = outputs(est, X)
    back = dump_load(est, how, tmp_path)
    assert type(back) is type(est)
    assert back._network_state.dtype == est._network_state.dtype
    assert_views_of_flat(back)
    assert_same_state(back, est)
    held = (back._network_state, back.coefs_, list(back.coefs_))
    for got, want in zip(outputs(back, X), expected):
        assert_array_equal(got, want, strict=True)
    # predicting swaps nothing (the arrays a user holds stay the model's), the
    # arrays are still views, and the original is independent
    assert back._network_state is held[0] and back.coefs_ is held[1]
    assert back._network_state.owns(held[2])
    assert all(a is b for a, b in zip(back.coefs_, held[2]))
    assert_views_of_flat(back)
    assert not np.shares_memory(back.coefs_[0].base, est.coefs_[0].base)
    assert_array_equal(outputs(est, X)[0], expected[0])


@pytest.mark.parametrize("how", ["pickle-2", "pickle-5", "joblib"])
def test_in_place_edits_of_a_loaded_model_are_seen_by_predict(how, tmp_path):
    # coefs_ of the loaded model are views of the buffer predict reads: an
    # in-place edit there is an edit of the model, as on the original.
    est, X, y = fitted("regressor-multi-output")
    back = dump_load(est, how, tmp_path)
    back.coefs_[0][:] = 0.5
    back.intercepts_[1][:] = -1.0
    est.coefs_[0][:] = 0.5
    est.intercepts_[1][:] = -1.0
    assert_array_equal(back.predict(X), est.predict(X))
    assert not np.allclose(back.predict(X), fitted("regressor-multi-output")[0].predict(X))


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("kind", sorted(PICKLE_KINDS))
def test_round_trip_keeps_training_identically(kind, how, tmp_path):
    est, X, y = fitted(kind)
    back = dump_load(est, how, tmp_path)
    for model in (est, back):
        model.set_params(warm_start=True, max_iter=3).fit(X, y)
    assert_array_equal(back._network_state.params_copy(), est._network_state.params_copy(), strict=True)
    assert_same_state(back, est)
    assert_views_of_flat(back)


def test_round_trip_of_a_partial_fit_model_keeps_its_optimizer():
    X, y = datasets.make("regression")
    est = MLPRegressor(hidden_layer_sizes=(5,), solver="sgd", learning_rate="invscaling",
                       random_state=0)
    for _ in range(3):
        est.partial_fit(X, y)
    back = pickle.loads(pickle.dumps(est))
    est.partial_fit(X, y)
    back.partial_fit(X, y)
    assert_same_state(back, est)


def test_round_trip_of_replaced_coefs_keeps_them():
    # A user may assign new arrays to coefs_; the pickle stores what predict uses
    est, X, y = fitted("regressor-multi-output")
    est.coefs_[0] = np.ascontiguousarray(est.coefs_[0] * 0.5)
    expected = est.predict(X)
    back = pickle.loads(pickle.dumps(est))
    assert_array_equal(back.predict(X), expected)
    assert_views_of_flat(back)


def test_round_trip_of_unfitted_estimators():
    for est in (MLPClassifier(activation=["relu", "gelu"], hidden_layer_sizes=(3, 2)),
                MLPRegressor(dropout=0.2)):
        back = pickle.loads(pickle.dumps(est))
        assert back.get_params() == est.get_params()
        with pytest.raises(NotFittedError):
            check_is_fitted(back)


def test_joblib_file_objects_round_trip():
    est, X, y = fitted("prelu-batchnorm-dropout")
    buffer = io.BytesIO()
    joblib.dump(est, buffer)
    buffer.seek(0)
    back = joblib.load(buffer)
    assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    assert_views_of_flat(back)


@pytest.mark.parametrize("kind", ["float32-extras", "lbfgs-batchnorm", "multilabel"])
def test_joblib_memory_mapped_load(kind, tmp_path):
    # joblib.load(mmap_mode='r') hands __setstate__ np.memmap arrays; the model
    # must end up with plain, owned, writable buffers whose views are coefs_,
    # or every predict repacks the buffer and rebinds coefs_ (a copy per call,
    # and a write to the estimator from predict, unsafe across threads).
    est, X, y = fitted(kind)
    back = dump_load(est, "joblib-mmap", tmp_path)
    assert_views_of_flat(back)
    network, coefs = back._network_state, back.coefs_
    for got, want in zip(outputs(back, X), outputs(est, X)):
        assert_array_equal(got, want)
    assert back._network_state is network and back.coefs_ is coefs, "predict swapped the buffer"
    assert network.owns(coefs)
    back.set_params(warm_start=True, max_iter=2).fit(X, y)
    est.set_params(warm_start=True, max_iter=2).fit(X, y)
    assert_array_equal(back._network_state.params_copy(), est._network_state.params_copy())
