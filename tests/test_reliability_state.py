"""Reliability of the estimator's state: diverging fits roll back, pickles restore.

* A fit, warm-started fit or partial_fit whose weights become non-finite
  raises ValueError and leaves every attribute exactly as it was before the
  call (deep comparison of ``__dict__``, the same array objects, coefs_
  still views of the flat buffer), and training afterwards goes on exactly
  as if the failed call had never happened.
* Fitted models of every kind (``PICKLE_KINDS``) survive every way to save
  them that the docs name (``HOWS``: pickle protocols 2 to 5, joblib.dump/load
  plain, compressed and memory-mapped, skops.io): identical predictions,
  coefs_/intercepts_ and the extras still views of the flat buffers of the
  network state, and training resumes identically.
"""

import copy
import io
import pickle
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

import datasets
from cymlp import MLPClassifier, MLPRegressor
from cymlp._state import VIEW_ATTRIBUTES

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),  # overflow while diverging
]

NON_FINITE = "non-finite parameter weights"


# --------------------------------------------------------------------------
# Deep comparison of estimator states
# --------------------------------------------------------------------------


def assert_same_value(a, b, path):
    """a and b hold the same values, recursively (NaN equals NaN)."""
    if isinstance(a, np.ndarray):  # joblib may give memory-mapped fitted arrays
        assert isinstance(b, np.ndarray), f"{path}: {type(b).__name__} is not an array"
        assert a.dtype == b.dtype and a.shape == b.shape, path
        assert_array_equal(a, b, err_msg=path)
        return
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_value(x, y, f"{path}[{i}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), f"{path}: keys {sorted(a)} != {sorted(b)}"
        for key in a:
            assert_same_value(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, (float, np.floating)):
        assert (a == b) or (np.isnan(a) and np.isnan(b)), f"{path}: {a} != {b}"
    elif isinstance(a, np.random.RandomState):
        assert_same_value(a.get_state(legacy=False), b.get_state(legacy=False), path)
    elif isinstance(a, (int, str, bool, bytes, type(None), np.generic)):
        assert a == b, f"{path}: {a!r} != {b!r}"
    elif hasattr(a, "__dict__"):
        assert_same_value(vars(a), vars(b), f"{path}.__dict__")
    # other extension objects (the cached kernel Layout) are rebuilt on demand


def state(est):
    """The estimator's attributes, without the layout cache (not part of its state)."""
    return {k: v for k, v in vars(est).items() if k != "_layout_cache"}


def assert_same_state(est, snapshot):
    assert_same_value(state(est), state(snapshot), type(est).__name__)


def undo_blow_up(est, snapshot):
    """Put back the constructor parameters the test changed to make the fit fail."""
    est.set_params(**{name: snapshot.get_params()[name] for name in BLOW_UP})


def assert_views_of_flat(est):
    """coefs_, intercepts_ and the extras are views of the network state's two
    flat buffers, plain writable arrays that own their memory."""
    arrays = [a for name in VIEW_ATTRIBUTES for a in getattr(est, name) if a is not None]
    assert est._network_state.owns(arrays), "a fitted array is not a view of the network"
    for a in arrays:
        buffer = a.base
        assert type(buffer) is np.ndarray, f"a buffer of type {type(buffer).__name__}"
        assert buffer.base is None, "the buffers must own their memory"
        assert buffer.flags.writeable and buffer.flags.c_contiguous
    params = {id(a.base) for a in est.coefs_ + est.intercepts_}
    assert len(params) == 1, "coefs_ and intercepts_ are views of one buffer"


def assert_unfitted(est, cls, params):
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    fresh = cls(**params)
    assert_same_value(state(est), state(fresh), "unfitted estimator")


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
