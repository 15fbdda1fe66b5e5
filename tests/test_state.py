"""The network state (``_state.NetworkState``): the buffers, their views and copies.

Through the estimators: coefs_, intercepts_ and the extras are live views of
one flat parameter buffer, replaced arrays are repacked, copies are
independent. Directly: a new state's buffers, the fit transaction's snapshot
and restore (in place, the same buffers), early stopping's best copies, the
saved form (cymlp 0.1.0's), resuming checks and the float32 input cast.
"""

import copy
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

import datasets
from cymlp import MLPClassifier, MLPRegressor
from model_checks import numpy_forward
from cymlp._state import NetworkState, kernel_input

pytestmark = pytest.mark.usefixtures("quiet")

CONFIG = {"activations": ["prelu", "tanh"], "dropout": [0.0, 0.1],
          "batch_norm": [True, True], "negative_slope": 0.01}
UNITS = [3, 4, 5, 2]


def classification():
    return datasets.make("multiclass", n=150, d=5)


def regression():
    return datasets.make("regression", d=4)




def new_state(dtype=np.float64, seed=0):
    rng = np.random.RandomState(seed)
    coefs = [rng.randn(a, b) for a, b in zip(UNITS[:-1], UNITS[1:])]
    intercepts = [rng.randn(b) for b in UNITS[1:]]
    return NetworkState.new(UNITS, CONFIG, "log_loss", coefs, intercepts, dtype), coefs


# --------------------------------------------------------------------------
# The estimator's arrays are the state's views
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
# The state itself
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_new_state_holds_the_weights_and_initial_extras(dtype):
    state, coefs = new_state(dtype)
    views = state.views()
    assert state.dtype == dtype and state.activations == CONFIG["activations"]
    for got, want in zip(views["coefs_"], coefs):
        assert got.dtype == dtype
        assert_array_equal(got, want.astype(dtype))
    assert_array_equal(views["prelu_slopes_"][0], 0.25)     # PReLU starts at 0.25
    assert views["prelu_slopes_"][1] is None
    assert all((g == 1).all() for g in views["batch_norm_scale_"])
    assert all((m == 0).all() for m in views["batch_norm_running_mean_"])
    assert all((v == 1).all() for v in views["batch_norm_running_var_"])
    arrays = [a for value in views.values() for a in value if a is not None]
    assert state.owns(arrays)
    assert not state.owns([np.zeros(3)])


def test_snapshot_and_restore_write_back_into_the_same_buffers():
    state, _ = new_state()
    views = state.views()
    before = state.params_copy()
    snapshot = state.snapshot()
    state.set_params(np.zeros_like(before))
    state.save_best()
    state.adopt([np.ones_like(c) for c in views["coefs_"]], views["intercepts_"])
    assert not state.owns(views["coefs_"])      # adopt repacked into a new buffer
    state.restore(snapshot)
    assert state.owns(views["coefs_"])          # the arrays a user holds are the model again
    assert_array_equal(state.params_copy(), before)
    state.restore_best()                        # the best copies were restored too
    assert_array_equal(state.params_copy(), before)


def test_best_copies_follow_save_and_restore():
    state, _ = new_state()
    state.save_best()
    best = state.params_copy()
    state.set_params(best + 1.0)
    assert not np.array_equal(state.params_copy(), best)
    state.restore_best()
    assert_array_equal(state.params_copy(), best)


def test_saved_form_is_plain_and_round_trips(tmp_path):
    state, _ = new_state()
    saved = state.to_attributes()
    assert set(saved) == {"_params_flat", "_running_flat", "_best_params", "_best_running",
                          "_units", "_config"}
    assert all(type(v) in (np.ndarray, list, dict) for v in saved.values())
    # borrowed or memory-mapped arrays (pickle protocol 5, joblib mmap) are owned again
    mapped = np.memmap(tmp_path / "running", dtype=np.float64, mode="w+",
                       shape=saved["_running_flat"].shape)
    mapped[...] = saved["_running_flat"]
    borrowed = dict(saved, _params_flat=saved["_params_flat"][:], _running_flat=mapped)
    back = NetworkState.from_attributes(borrowed, "log_loss")
    for view in back.views()["coefs_"]:
        assert type(view.base) is np.ndarray and view.base.base is None
    assert_array_equal(back.params_copy(), state.params_copy())
    assert_array_equal(back.running_copy(), state.running_copy())


def test_copies_are_independent():
    state, _ = new_state()
    other = state.with_params(state.params_copy() * 2)
    other.save_best()
    other.restore_best()
    state.restore_best()
    assert_array_equal(other.params_copy(), 2 * state.params_copy())
    assert not np.shares_memory(other.views()["coefs_"][0], state.views()["coefs_"][0])


def test_resuming_needs_the_same_network():
    state, _ = new_state()
    with pytest.raises(ValueError, match=r"layer sizes \[3, 4, 5, 2\], but .* give \[3, 4, 2\]"):
        state.check_resumable([3, 4, 2], CONFIG, "log_loss")
    for key, value in (("activations", ["relu", "tanh"]), ("batch_norm", [False, True])):
        with pytest.raises(ValueError, match=f"the fitted network has {key}"):
            state.check_resumable(UNITS, {**CONFIG, key: value}, "log_loss")
    assert state.check_resumable(UNITS, dict(CONFIG), "log_loss") is state
    # dropout and negative_slope may change: the same buffers, a new layout
    resumed = state.check_resumable(UNITS, {**CONFIG, "dropout": [0.3, 0.0]}, "log_loss")
    assert resumed is not state and resumed.owns(state.views()["coefs_"])


def test_float64_input_beyond_float32_range_is_refused_by_a_float32_network():
    X = np.array([[1e39, 0.0, 1.0]])
    with pytest.raises(ValueError, match="beyond the range of float32"):
        kernel_input(X, np.float32)
    with pytest.raises(ValueError, match="beyond the range of float32"):
        kernel_input(sp.csr_matrix(X), np.float32)
    assert kernel_input(X, np.float64) is X


def test_a_round_trip_within_one_version_does_not_warn():
    est, X = _fitted_classifier()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = pickle.loads(pickle.dumps(est))
        copy.deepcopy(est)
    assert_array_equal(back.predict_proba(X), est.predict_proba(X))
