"""MLPRegressor's absolute-error and quantile losses, from the kernels to the estimator.

* The kernels: loss values and gradients against scikit-learn's own loss
  module (``sklearn._loss``: AbsoluteError, PinballLoss), the gradient at the
  kink included, weighted, float32 and float64, one and several outputs;
  the output delta and the whole network's gradient against central finite
  differences away from the kinks (dense and sparse X); the checked entry
  points (``Layout``'s quantile, ``weighted_loss``).
* The estimator: a quantile model covers its quantile on held-out points of
  heteroscedastic data; an absolute-error fit is not pulled by a few large
  outliers that pull a squared-error fit; float32, sparse X, L-BFGS and
  partial_fit; the loss may change between warm-started fits; bad values
  are refused with the estimator left unfitted; pickling and ONNX export.
"""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn._loss.loss import AbsoluteError, PinballLoss
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

import kernel_calls
from cymlp import MLPRegressor, _dispatch, _layout, _losses

from gradient_checks import assert_rel_close, central_differences
from test_saved_models import needs_numpy_2

# the kernels' test entry points, built with the flags of the level in use
kernels = _dispatch.load_entries(_dispatch.LEVEL)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

LOSSES = ["absolute_error", "quantile"]
RTOL = {np.float32: 1e-6, np.float64: 1e-14}


def sklearn_loss(head, quantile):
    """scikit-learn's loss object of the same name (sklearn._loss)."""
    return AbsoluteError() if head == "absolute_error" else PinballLoss(quantile=quantile)


# --------------------------------------------------------------------------
# The kernels
# --------------------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("head, quantile", [("absolute_error", 0.5), ("quantile", 0.1),
                                            ("quantile", 0.5), ("quantile", 0.93)])
def test_loss_and_gradient_match_sklearn_loss_module(head, quantile, dtype, weighted):
    rng = np.random.RandomState(0)
    n, k = 11, 3
    p = rng.randn(n, k).astype(dtype)
    y = rng.randn(n, k).astype(dtype)
    y[0] = p[0]              # the kink: residual exactly 0
    sw = rng.uniform(0.2, 3.0, n).astype(dtype) if weighted else None
    total, delta = kernels.loss_delta(head, p, y, sample_weight=sw, quantile=quantile)

    ref = sklearn_loss(head, quantile)
    # one output at a time: scikit-learn's losses are single-output
    per_value = np.column_stack([ref.loss(y[:, j].astype(np.float64),
                                          p[:, j].astype(np.float64)) for j in range(k)])
    grad = np.column_stack([ref.gradient(y[:, j].astype(np.float64),
                                         p[:, j].astype(np.float64)) for j in range(k)])
    w = np.ones(n) if sw is None else sw.astype(np.float64)
    # the loss is the mean over the outputs, weighted per sample
    assert_allclose(total, (w[:, None] * per_value).sum() / k, rtol=RTOL[dtype] * 10)
    assert delta.dtype == dtype
    assert_allclose(delta, w[:, None] * grad / k, rtol=RTOL[dtype])
    # at the kink, scikit-learn's left gradient: -1 or -q
    want = -1.0 if head == "absolute_error" else -quantile
    assert_allclose(delta[0], want * w[0] / k, rtol=RTOL[dtype])


def test_absolute_error_is_twice_the_median_pinball_loss():
    rng = np.random.RandomState(1)
    p, y = rng.randn(7, 2), rng.randn(7, 2)
    y[3, 1] = p[3, 1]
    total_abs, delta_abs = kernels.loss_delta("absolute_error", p, y)
    total_q, delta_q = kernels.loss_delta("quantile", p, y, quantile=0.5)
    assert total_abs == 2 * total_q
    assert_array_equal(delta_abs, 2 * delta_q)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("head, quantile", [("absolute_error", 0.5), ("quantile", 0.8)])
def test_delta_is_gradient_of_loss_away_from_kinks(head, quantile, k, weighted):
    rng = np.random.RandomState(2)
    z = rng.uniform(-1.5, 1.5, (6, k))
    bias = rng.uniform(-0.5, 0.5, k)
    y = z + bias + rng.choice([-1, 1], (6, k)) * rng.uniform(0.1, 1.0, (6, k))
    sw = rng.uniform(0.2, 3.0, 6) if weighted else None

    def loss_of(zz):
        p = np.ascontiguousarray(zz).copy()
        kernels.output_forward(head, p, bias)
        return kernels.loss_delta(head, p, y, sample_weight=sw, quantile=quantile)[0]

    p = z.copy()
    kernels.output_forward(head, p, bias)
    _, delta = kernels.loss_delta(head, p, y, sample_weight=sw, quantile=quantile)
    assert_rel_close(delta, central_differences(loss_of, z, 1e-6), rtol=1e-7)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("head", LOSSES)
def test_network_gradient_matches_finite_differences(head, sparse):
    rng = np.random.RandomState(3)
    units = [5, 4, 3, 2]
    layout = _layout.Layout(units, ["tanh", "tanh"], head, quantile=0.3)
    X = rng.randn(9, 5)
    X[rng.rand(*X.shape) < 0.4] = 0.0
    Y = rng.randn(9, 2) * 3.0        # residuals far from 0: no kink within h
    sw = rng.uniform(0.1, 3.0, 9)
    params = rng.uniform(-0.5, 0.5, layout.n_params)
    if sparse:
        Xs = sp.csr_matrix(X)
        X = (Xs.data, Xs.indices.astype(np.int32), Xs.indptr.astype(np.int32))
    alpha = 0.1

    def f(p):
        return kernel_calls.loss_and_gradient(layout, p, X, Y, sw, alpha)[0]

    loss, grads, _ = kernel_calls.loss_and_gradient(layout, params, X, Y, sw, alpha)
    assert_rel_close(grads, central_differences(f, params, 1e-6), rtol=1e-6)
    # the loss is the estimator's: weighted mean pinball loss + the L2 term
    coefs, _ = layout.views(params)
    pred = _dispatch.network.predict(layout, params, X, None)
    q = 0.3 if head == "quantile" else 0.5
    r = Y - pred
    terms = np.where(r >= 0, q * r, (q - 1) * r) * (2 if head == "absolute_error" else 1)
    want = ((sw[:, None] * terms).sum() / 2
            + 0.5 * alpha * sum((W ** 2).sum() for W in coefs)) / sw.sum()
    assert_allclose(loss, want, rtol=1e-12)


def test_layout_checks_the_quantile():
    for bad in (0.0, 1.0, -0.2, 1.5, np.nan):
        with pytest.raises(ValueError, match="quantile in \\(0, 1\\)"):
            _layout.Layout([2, 3, 1], ["relu"], "quantile", quantile=bad)
    layout = _layout.Layout([2, 3, 1], ["relu"], "quantile", quantile=0.25)
    assert (layout.head, layout.quantile) == ("quantile", 0.25)
    # the other heads ignore it
    assert _layout.Layout([2, 1], [], "absolute_error", quantile=7.0).quantile == 0.5


def test_weighted_loss_entry_point_checks_its_arguments():
    p = np.zeros((3, 2))
    with pytest.raises(ValueError, match="differ in shape"):
        _losses.weighted_loss("squared_error", p, np.zeros((3, 1)))
    with pytest.raises(ValueError, match="float64"):
        _losses.weighted_loss("squared_error", p, np.zeros((3, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="rows"):
        _losses.weighted_loss("squared_error", p, p, np.ones(4))
    with pytest.raises(ValueError, match="1-D"):
        _losses.weighted_loss("squared_error", p, p, np.ones((3, 1)))
    with pytest.raises(ValueError, match="unknown output head"):
        _losses.weighted_loss("hinge", p, p)
    with pytest.raises(ValueError, match="quantile in"):
        _losses.weighted_loss("quantile", p, p, None, 1.0)
    with pytest.raises(ValueError, match="2-D"):
        _losses.weighted_loss("squared_error", np.zeros(3), np.zeros(3))
    assert _losses.weighted_loss("quantile", np.zeros((0, 2)), np.zeros((0, 2))) == 0.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("head", ["squared_error", "binary_log_loss", "log_loss",
                                  "poisson", "absolute_error", "quantile"])
def test_weighted_loss_is_the_training_kernels_loss(head, dtype):
    # the same loss terms as loss_and_delta, which training runs
    rng = np.random.RandomState(4)
    p = rng.uniform(0.05, 0.95, (8, 3)).astype(dtype)
    y = (rng.rand(8, 3) > 0.5).astype(dtype)
    sw = rng.uniform(0.5, 2.0, 8).astype(dtype)
    total, _ = kernels.loss_delta(head, p, y, sample_weight=sw, quantile=0.7)
    assert _losses.weighted_loss(head, p, y, sw, 0.7) == total


# --------------------------------------------------------------------------
# The estimator
# --------------------------------------------------------------------------


def heteroscedastic(n, seed):
    """sin x on [-3, 3] with noise whose spread grows with |x|."""
    rng = np.random.RandomState(seed)
    x = rng.uniform(-3, 3, n)
    return x[:, None], np.sin(x) + (0.1 + 0.3 * np.abs(x)) * rng.randn(n)


QUANTILE_MODEL = dict(hidden_layer_sizes=(32,), activation="tanh", loss="quantile",
                      learning_rate_init=0.01, learning_rate="cosine", max_iter=150,
                      tol=0, n_iter_no_change=150, random_state=0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("q", [0.1, 0.9])
def test_quantile_model_covers_its_quantile_out_of_sample(q, dtype):
    X, y = heteroscedastic(4000, 0)
    X_test, y_test = heteroscedastic(20000, 1)
    model = MLPRegressor(quantile=q, **QUANTILE_MODEL).fit(X.astype(dtype), y)
    coverage = np.mean(y_test <= model.predict(X_test.astype(dtype)))
    assert abs(coverage - q) <= 0.03, coverage
    # and it is a quantile of the conditional distribution, not a constant
    # offset: the interval widens with |x|
    if q == 0.9:
        low = MLPRegressor(quantile=0.1, **QUANTILE_MODEL).fit(X.astype(dtype), y)
        grid = np.array([[0.0], [2.8]], dtype=dtype)
        width = model.predict(grid) - low.predict(grid)
        assert width[1] > 3 * width[0], width


def test_absolute_error_is_not_pulled_by_outliers():
    rng = np.random.RandomState(5)
    X = rng.uniform(-1, 1, (1000, 2))
    truth = 2 * X[:, 0] - X[:, 1]
    y = truth + 0.05 * rng.randn(1000)
    outliers = rng.choice(1000, 20, replace=False)   # 2 % of the targets, far off
    y[outliers] += 50.0
    X_test = rng.uniform(-1, 1, (2000, 2))
    truth_test = 2 * X_test[:, 0] - X_test[:, 1]
    errors = {}
    for loss in ("squared_error", "absolute_error"):
        model = MLPRegressor(hidden_layer_sizes=(16,), loss=loss, learning_rate_init=0.01,
                             max_iter=100, random_state=0).fit(X, y)
        errors[loss] = np.median(np.abs(model.predict(X_test) - truth_test))
    # squared error follows the outliers' mean shift (about +1 everywhere);
    # the absolute error fits the clean median
    assert errors["squared_error"] > 0.5, errors
    assert errors["absolute_error"] < 0.1, errors


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss", LOSSES)
def test_fits_in_every_dtype_layout_and_solver(loss, dtype, sparse, solver):
    X, y = heteroscedastic(300, 6)
    X = np.c_[X, np.zeros((300, 2))].astype(dtype)   # sparse-worthy zero columns
    if sparse:
        X = sp.csr_matrix(X)
    y2 = np.c_[y, -y]
    model = MLPRegressor(hidden_layer_sizes=(8,), loss=loss, quantile=0.8, solver=solver,
                         max_iter=30, random_state=0).fit(X, y2)
    assert model.out_activation_ == "identity"
    pred = model.predict(X)
    assert pred.dtype == dtype and pred.shape == (300, 2)
    first = model.loss_curve_[0] if solver != "lbfgs" else None
    assert np.isfinite(model.loss_)
    if first is not None:
        assert model.loss_ < first
    # dense and sparse X train the same model (up to BLAS rounding)
    other = MLPRegressor(**model.get_params()).fit(
        X.toarray() if sparse else sp.csr_matrix(X), y2)
    tol = 1e-3 if dtype == np.float32 else 1e-8
    assert_allclose(other.predict(X), pred, rtol=tol, atol=tol)


def test_partial_fit_and_quantile_change_between_calls():
    X, y = heteroscedastic(400, 7)
    model = MLPRegressor(hidden_layer_sizes=(8,), loss="quantile", quantile=0.9,
                         learning_rate_init=0.02, random_state=0)
    for _ in range(20):
        model.partial_fit(X, y)
    high = np.mean(y <= model.predict(X))
    model.set_params(quantile=0.1)
    for _ in range(20):
        model.partial_fit(X, y)
    low = np.mean(y <= model.predict(X))
    assert high > 0.8 and low < 0.2, (high, low)


def test_warm_start_may_switch_between_identity_losses():
    X, y = heteroscedastic(400, 8)
    model = MLPRegressor(hidden_layer_sizes=(8,), max_iter=20, warm_start=True,
                         learning_rate_init=0.02, random_state=0).fit(X, y)
    coefs = model.coefs_[0]
    model.set_params(loss="quantile", quantile=0.95, max_iter=60).fit(X, y)
    assert model.coefs_[0] is coefs          # the same network, trained on
    assert np.mean(y <= model.predict(X)) > 0.85
    # an exp output cannot be trained on the quantile loss
    poisson = MLPRegressor(hidden_layer_sizes=(4,), loss="poisson", max_iter=5,
                           warm_start=True, random_state=0).fit(X, np.abs(y))
    before = pickle.dumps(poisson)
    with pytest.raises(ValueError, match="needs 'identity'"):
        poisson.set_params(loss="quantile").fit(X, y)
    poisson.set_params(loss="poisson")
    assert pickle.dumps(poisson) == before


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.5, 2, "0.5", None])
def test_bad_quantile_is_refused_and_the_estimator_stays_unfitted(bad):
    X, y = heteroscedastic(50, 9)
    model = MLPRegressor(loss="quantile", quantile=bad, max_iter=2)
    with pytest.raises(InvalidParameterError, match="quantile"):
        model.fit(X, y)
    assert not hasattr(model, "coefs_") and not hasattr(model, "n_iter_")
    with pytest.raises(InvalidParameterError, match="loss"):
        MLPRegressor(loss="huber").fit(X, y)


def test_quantile_model_round_trips_through_pickle():
    X, y = heteroscedastic(200, 10)
    model = MLPRegressor(hidden_layer_sizes=(8,), loss="quantile", quantile=0.2,
                         max_iter=10, random_state=0).fit(X, y)
    loaded = pickle.loads(pickle.dumps(model))
    assert loaded._network_state.head == "quantile" and loaded._network_state.quantile == 0.2
    assert_array_equal(loaded.predict(X), model.predict(X))
    # training on continues with the same loss
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.partial_fit(X, y)
        loaded.partial_fit(X, y)
    assert_array_equal(loaded.predict(X), model.predict(X))
    assert clone(model).get_params() == model.get_params()


def test_onnx_export_of_a_quantile_model_is_unchanged():
    pytest.importorskip("onnxruntime")
    import onnxruntime

    import cymlp.onnx

    X, y = heteroscedastic(200, 11)
    model = MLPRegressor(hidden_layer_sizes=(8,), loss="quantile", quantile=0.9,
                         max_iter=20, random_state=0).fit(X.astype(np.float32), y)
    session = onnxruntime.InferenceSession(cymlp.onnx.to_onnx(model).SerializeToString())
    got = session.run(None, {"X": X.astype(np.float32)})[0].ravel()
    assert_allclose(got, model.predict(X.astype(np.float32)), rtol=1e-5, atol=1e-6)


@needs_numpy_2
@pytest.mark.parametrize("kind, head", [("poisson", "poisson"),
                                        ("regressor-multi-output", "squared_error"),
                                        ("early-stopping", "log_loss")])
def test_models_saved_before_these_parameters_load_with_their_defaults(kind, head):
    from pathlib import Path

    from cymlp import InconsistentVersionWarning

    path = Path(__file__).parent / "data" / "models-0.1.0" / f"{kind}.pkl"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InconsistentVersionWarning)
        model = pickle.loads(path.read_bytes())
    params = model.get_params()
    assert params["scoring"] is None
    assert params.get("quantile", 0.5) == 0.5
    assert model._network_state.head == head
    assert clone(model).get_params() == params


def test_a_model_whose_loss_was_set_after_fitting_still_loads():
    # pickled after set_params(loss='quantile') on a Poisson model: it loads
    # as the Poisson network it is; training on is what is refused
    X, y = heteroscedastic(100, 12)
    model = MLPRegressor(hidden_layer_sizes=(4,), loss="poisson", max_iter=5,
                         warm_start=True, random_state=0).fit(X, np.abs(y))
    loaded = pickle.loads(pickle.dumps(model.set_params(loss="quantile")))
    assert loaded._network_state.head == "poisson"
    assert_array_equal(loaded.predict(X), model.predict(X))
    with pytest.raises(ValueError, match="needs 'identity'"):
        loaded.fit(X, y)
