"""The Cython kernels, called through their Python test entry points.

Every derivative is checked against central finite differences of the
function it differentiates, every reference value against plain numpy or
scikit-learn's own helpers.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.neural_network._base import ACTIVATIONS, LOSS_FUNCTIONS

import kernel_calls
from gradient_checks import assert_rel_close, central_differences
from cymlp import _blas, _dispatch, _layout, _plans
from cymlp._dispatch import network as _network

# the kernels' test entry points, built with the flags of the level in use
kernels = _dispatch.load_entries(_dispatch.LEVEL)

HIDDEN = ["identity", "logistic", "tanh", "relu"]
HEADS = ["squared_error", "binary_log_loss", "log_loss", "poisson"]
OUT_ACTIVATION = {
    "squared_error": "identity",
    "binary_log_loss": "logistic",
    "log_loss": "softmax",
    "poisson": "exp",
}
TOL = {np.float32: 2e-6, np.float64: 1e-13}






# --------------------------------------------------------------------------
# GEMM
# --------------------------------------------------------------------------


def test_gemm_py_dispatches_on_array_dtype():
    # Called as documented, with Python floats for alpha and beta, float32
    # operands must select the float32 kernel.
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.ones((3, 2), dtype=np.float32)
    c = np.ones((2, 2), dtype=np.float32)
    _blas.gemm_py(False, False, 2.0, a, b, 0.5, c)
    assert_allclose(c, 2.0 * a @ b + 0.5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("alpha, beta", [(1.0, 0.0), (0.7, 1.0), (-1.3, 0.4)])
def test_gemm_matches_numpy(trans_a, trans_b, dtype, alpha, beta):
    rng = np.random.RandomState(0)
    m, n, k = 5, 3, 4  # all different, so a transposition mix-up cannot pass
    a = rng.randn(*((k, m) if trans_a else (m, k))).astype(dtype)
    b = rng.randn(*((n, k) if trans_b else (k, n))).astype(dtype)
    c = rng.randn(m, n).astype(dtype)
    op_a = a.T if trans_a else a
    op_b = b.T if trans_b else b
    expected = alpha * (op_a.astype(np.float64) @ op_b.astype(np.float64)) + beta * c
    _blas.gemm_py(trans_a, trans_b, alpha, a, b, beta, c)
    assert c.dtype == dtype
    assert_allclose(c, expected, rtol=TOL[dtype] * 10, atol=TOL[dtype] * 10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_beta_zero_ignores_garbage_in_c(dtype):
    # The kernels write into malloc'ed (uninitialized) buffers with beta = 0.
    rng = np.random.RandomState(1)
    a = rng.randn(6, 2).astype(dtype)
    b = rng.randn(2, 7).astype(dtype)
    c = np.full((6, 7), np.nan, dtype=dtype)
    _blas.gemm_py(False, False, 2.0, a, b, 0.0, c)
    assert_allclose(c, 2.0 * a @ b, rtol=1e-5)


def test_gemm_rejects_mismatched_shapes():
    a = np.ones((3, 4))
    b = np.ones((5, 2))
    c = np.zeros((3, 2))
    with pytest.raises(ValueError, match="shapes"):
        _blas.gemm_py(False, False, 1.0, a, b, 0.0, c)
    with pytest.raises(ValueError, match="shapes"):
        _blas.gemm_py(False, True, 1.0, a, np.ones((2, 4)), 0.0, np.zeros((4, 2)))


# --------------------------------------------------------------------------
# Hidden activations
# --------------------------------------------------------------------------


ALL_ACTIVATIONS = HIDDEN + ["leaky_relu", "prelu", "elu", "gelu"]
# The network hands the derivative its input z only for these (see needs_input);
# the others get their derivative from the output a alone.
NEEDS_INPUT = {"prelu", "gelu"}
KINKED = {"relu", "leaky_relu", "prelu"}


def _points(rng, shape, name):
    z = rng.uniform(-3, 3, shape)
    if name in KINKED:  # stay away from the kink at 0
        z = np.where(np.abs(z) < 0.2, z + np.sign(z + 1e-12) * 0.5, z)
    return z


@pytest.mark.parametrize("name", ALL_ACTIVATIONS)
def test_activation_derivative_matches_finite_differences(name):
    rng = np.random.RandomState(3)
    shape = (6, 4)
    z = _points(rng, shape, name)
    bias = np.zeros(shape[1])
    extras = dict(negative_slope=0.07, slopes=rng.uniform(0.05, 0.5, shape[1]))

    def f(v):
        out = np.ascontiguousarray(v, dtype=np.float64).copy()
        kernels.activate(name, out, bias, **extras)
        return out

    a = f(z)
    delta = rng.uniform(0.5, 2.0, shape) * rng.choice([-1, 1], shape)
    got = delta.copy()
    if name in NEEDS_INPUT:
        with pytest.raises(ValueError, match="needs its input z"):
            kernels.derivative(name, a, got.copy(), **extras)
        kernels.derivative(name, a, got, z=z, **extras)
    else:
        kernels.derivative(name, a, got, **extras)
    # f acts elementwise: the derivative at each point by central differences
    h = 1e-5
    fd = (f(z + h) - f(z - h)) / (2 * h)
    assert_rel_close(got, delta * fd, rtol=1e-6)


def test_activate_extremes_stay_finite_and_relu_keeps_nan():
    z = np.array([[-1000.0, 1000.0, np.nan]])
    bias = np.zeros(3)
    out = z.copy()
    kernels.activate("logistic", out, bias)
    assert_allclose(out[0, :2], [0.0, 1.0])
    out = z.copy()
    kernels.activate("tanh", out, bias)
    assert_allclose(out[0, :2], [-1.0, 1.0])
    out = z.copy()
    kernels.activate("relu", out, bias)
    assert out[0, 0] == 0 and out[0, 1] == 1000
    assert np.isnan(out[0, 2])  # like np.maximum(x, 0)


def test_activation_shape_errors():
    with pytest.raises(ValueError):
        kernels.activate("relu", np.zeros((2, 3)), np.zeros(2))
    with pytest.raises(ValueError):
        kernels.derivative("relu", np.zeros((2, 3)), np.zeros((3, 2)))


# --------------------------------------------------------------------------
# Output heads: activation, loss and delta
# --------------------------------------------------------------------------


def _targets(head, rng, n, k, poisson_mean):
    """Random (n, k) targets of the kind ``head`` fits."""
    if head == "squared_error":
        return rng.randn(n, k)
    if head == "binary_log_loss":
        return rng.randint(0, 2, (n, k)).astype(np.float64)
    if head == "log_loss":
        return np.eye(k)[rng.randint(0, k, n)]
    return rng.poisson(poisson_mean, (n, k)).astype(np.float64)


def _head_data(head, rng, n=6, k=3):
    z = rng.uniform(-1.5, 1.5, (n, k))
    bias = rng.uniform(-0.5, 0.5, k)
    y = _targets(head, rng, n, k, poisson_mean=1.5)
    if head == "poisson":
        y[0, 0] = 0.0  # xlogy(0, .) = 0
    return z, bias, y


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("head", HEADS)
def test_output_forward_matches_sklearn(head, dtype):
    rng = np.random.RandomState(4)
    z, bias, _ = _head_data(head, rng)
    z, bias = z.astype(dtype), bias.astype(dtype)
    expected = (z + bias).astype(dtype)
    ACTIVATIONS[OUT_ACTIVATION[head]](expected)
    kernels.output_forward(head, z, bias)
    assert_allclose(z, expected, rtol=TOL[dtype] * 5)
    if head == "log_loss":
        assert_allclose(z.sum(axis=1), 1.0, rtol=TOL[dtype] * 5)


def test_softmax_is_stable_for_large_inputs():
    z = np.array([[1000.0, 1000.0, -1000.0], [-800.0, -800.0, -801.0]])
    kernels.output_forward("log_loss", z, np.zeros(3))
    assert np.isfinite(z).all()
    assert_allclose(z[0], [0.5, 0.5, 0.0], atol=1e-15)
    e = np.exp([0.0, 0.0, -1.0])
    assert_allclose(z[1], e / e.sum(), rtol=1e-14)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("head", HEADS)
def test_loss_values_match_sklearn(head, dtype, weighted):
    rng = np.random.RandomState(5)
    z, bias, y = _head_data(head, rng, n=8, k=3)
    p = (z + bias).astype(dtype)
    ACTIVATIONS[OUT_ACTIVATION[head]](p)
    y = y.astype(dtype)
    sw = rng.uniform(0.2, 3.0, 8) if weighted else None
    total, delta = kernels.loss_delta(head, p, y, sample_weight=sw)
    expected = LOSS_FUNCTIONS[head](y, p, sw) * (sw.sum() if weighted else 8)
    assert_allclose(total, expected, rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert delta.dtype == dtype and delta.shape == p.shape
    expected_delta = (p - y) * (sw[:, None] if weighted else 1)
    assert_allclose(delta, expected_delta, rtol=TOL[dtype] * 5, atol=TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("head", ["binary_log_loss", "log_loss"])
def test_log_losses_clip_probabilities_like_sklearn(head, dtype):
    # p = 0 and p = 1 exactly: the loss is clipped at the dtype's eps, finite
    p = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]], dtype=dtype)
    y = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], dtype=dtype)
    total, _ = kernels.loss_delta(head, p, y)
    assert np.isfinite(total)
    expected = LOSS_FUNCTIONS[head](y, p) * 3
    assert_allclose(total, expected, rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    "head, k", [(h, k) for h in HEADS for k in (1, 3) if (h, k) != ("log_loss", 1)]
)
def test_delta_is_gradient_of_loss_wrt_preactivation(head, k, weighted):
    rng = np.random.RandomState(6)
    z, bias, y = _head_data(head, rng, n=5, k=k)
    sw = rng.uniform(0.2, 3.0, 5) if weighted else None
    # squared error averages over outputs: the true gradient needs 1 / k
    scale = 1.0 / k if head == "squared_error" else 1.0

    def loss_of(zz):
        p = np.ascontiguousarray(zz).copy()
        kernels.output_forward(head, p, bias)
        return kernels.loss_delta(head, p, y, sample_weight=sw)[0]

    p = z.copy()
    kernels.output_forward(head, p, bias)
    _, delta = kernels.loss_delta(head, p, y, sample_weight=sw, delta_scale=scale)
    fd = central_differences(loss_of, z, 1e-6)
    assert_rel_close(delta, fd, rtol=1e-6)


def test_squared_error_delta_scale_multiplies_delta():
    rng = np.random.RandomState(7)
    p, y = rng.randn(4, 3), rng.randn(4, 3)
    sw = rng.uniform(0.5, 2, 4)
    t1, d1 = kernels.loss_delta("squared_error", p, y, sample_weight=sw)
    t2, d2 = kernels.loss_delta("squared_error", p, y, sample_weight=sw, delta_scale=0.25)
    assert t1 == t2  # the loss is not scaled
    assert_allclose(d2, 0.25 * d1, rtol=1e-15)
    _, d3 = kernels.loss_delta("squared_error", p, y, delta_scale=0.5)
    assert_allclose(d3, 0.5 * (p - y), rtol=1e-15)


def test_loss_delta_shape_errors():
    with pytest.raises(ValueError):
        kernels.loss_delta("squared_error", np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError):
        kernels.loss_delta("squared_error", np.zeros((2, 2)), np.zeros((2, 2)),
                           sample_weight=np.ones(3))


# --------------------------------------------------------------------------
# Optimizer steps against scikit-learn's optimizers
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# The network: layout, full loss and gradient
# --------------------------------------------------------------------------


def _net_problem(head, n_out, rng, n=7, n_features=4):
    X = rng.randn(n, n_features)
    return X, np.ascontiguousarray(_targets(head, rng, n, n_out, poisson_mean=1.0))


def _reference_loss(units, activations, head, params, X, Y, sw, alpha, layout):
    """Loss of the network by plain numpy and scikit-learn's loss functions."""
    coefs, intercepts = layout.views(np.asarray(params, dtype=np.float64))
    a = X.toarray() if sp.issparse(X) else X
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        a = a @ W + b
        name = activations[i] if i < len(coefs) - 1 else OUT_ACTIVATION[head]
        ACTIVATIONS[name](a)
    sw_sum = X.shape[0] if sw is None else sw.sum()
    reg = 0.5 * alpha * sum((W**2).sum() for W in coefs) / sw_sum
    return LOSS_FUNCTIONS[head](Y, a, sw) + reg


def _kernel_loss_grad(layout, params, X, Y, sw, alpha, delta_scale=1.0):
    return kernel_calls.loss_and_gradient(layout, params, X, Y, sw, alpha, delta_scale)


def _init_params(layout, rng, dtype=np.float64):
    return rng.uniform(-0.8, 0.8, layout.n_params).astype(dtype)


@pytest.mark.parametrize("activation", HIDDEN)
@pytest.mark.parametrize("head", HEADS)
def test_network_gradient_matches_finite_differences(head, activation):
    rng = np.random.RandomState(10)
    n_out = 1 if head == "binary_log_loss" else 3
    units = [4, 5, 3, n_out]
    acts = [activation, activation]
    layout = _layout.Layout(units, acts, head)
    X, Y = _net_problem(head, n_out, rng)
    params = _init_params(layout, rng)
    alpha = 0.3
    scale = 1.0 / n_out if head == "squared_error" else 1.0

    loss, grads, norms = _kernel_loss_grad(layout, params, X, Y, None, alpha, scale)
    ref = _reference_loss(units, acts, head, params, X, Y, None, alpha, layout)
    assert_allclose(loss, ref, rtol=1e-12)

    def f(p):
        return _kernel_loss_grad(layout, p, X, Y, None, alpha, scale)[0]

    fd = central_differences(f, params, 1e-6)
    assert_rel_close(grads, fd, rtol=1e-6)
    coef_grads, _ = layout.views(grads)
    assert_allclose(norms, [np.linalg.norm(g) for g in coef_grads], rtol=1e-12)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("head", HEADS)
def test_network_gradient_weighted_and_sparse(head, sparse):
    rng = np.random.RandomState(11)
    n_out = 2
    units = [6, 4, n_out]
    layout = _layout.Layout(units, ["tanh"], head)
    X, Y = _net_problem(head, n_out, rng, n=9, n_features=6)
    X[rng.rand(*X.shape) < 0.5] = 0.0
    X[3] = 0.0  # an empty CSR row
    sw = rng.uniform(0.1, 3.0, 9)
    params = _init_params(layout, rng)
    alpha = 0.05
    scale = 0.5 if head == "squared_error" else 1.0
    if sparse:
        Xs = sp.csr_matrix(X)
        Xk = (Xs.data.astype(np.float64), Xs.indices.astype(np.int32),
              Xs.indptr.astype(np.int32))
    else:
        Xk = X

    loss, grads, norms = _kernel_loss_grad(layout, params, Xk, Y, sw, alpha, scale)
    ref = _reference_loss(units, ["tanh"], head, params, X, Y, sw, alpha, layout)
    assert_allclose(loss, ref, rtol=1e-12)
    fd = central_differences(
        lambda p: _kernel_loss_grad(layout, p, Xk, Y, sw, alpha, scale)[0], params, 1e-6)
    assert_rel_close(grads, fd, rtol=1e-6)
    coef_grads, _ = layout.views(grads)
    assert_allclose(norms, [np.linalg.norm(g) for g in coef_grads], rtol=1e-12)
    if sparse:  # the same numbers as the dense path
        loss_d, grads_d, _ = _kernel_loss_grad(layout, params, X, Y, sw, alpha, scale)
        assert_allclose(loss, loss_d, rtol=1e-13)
        assert_allclose(grads, grads_d, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("width", [1, 2, 3, 5, 7, 8, 9, 17])
def test_bias_gradient_sums_rows_in_order(width):
    # The bias gradient is the column sum of the deltas, added row after row
    # (numpy's order for a sum over axis 0), for register-held sums (up to
    # 8 columns) and row-by-row sums alike. A linear network on X = 0 makes
    # the delta b - y exactly, so the expected value is exact.
    rng = np.random.RandomState(14)
    n = 37
    layout = _layout.Layout([3, width], [], "squared_error")
    X, Y = _net_problem("squared_error", width, rng, n=n, n_features=3)
    X[:] = 0.0
    params = _init_params(layout, rng)
    loss, grads, _ = _kernel_loss_grad(layout, params, X, Y, None, 0.0)
    delta = layout.views(params)[1][0] - Y
    expected = np.zeros(width)
    for row in delta:
        expected += row
    _, bias_grads = layout.views(grads)
    assert_array_equal(bias_grads[0], expected / n)


def test_network_without_hidden_layer():
    rng = np.random.RandomState(12)
    layout = _layout.Layout([5, 3], [], "log_loss")
    X, Y = _net_problem("log_loss", 3, rng, n=8, n_features=5)
    params = _init_params(layout, rng)
    loss, grads, norms = _kernel_loss_grad(layout, params, X, Y, None, 0.1)
    fd = central_differences(
        lambda p: _kernel_loss_grad(layout, p, X, Y, None, 0.1)[0], params, 1e-6)
    assert_rel_close(grads, fd, rtol=1e-6)
    assert norms.shape == (1,)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("units", [[5, 9, 3], [256, 2048, 3]])
def test_predict_in_chunks_matches_numpy(units, dtype):
    # predict runs a narrow network in 256-row chunks and a GEMM-bound one
    # (here 258 multiply-adds per output value) in chunks of up to 32 MiB of
    # layer outputs, split evenly (_network.pyx): 4099 rows are 17 chunks of
    # the first kind, 3 (float64) or 2 (float32) of the second
    rng = np.random.RandomState(13)
    layout = _layout.Layout(units, ["tanh"], "squared_error")
    params = rng.uniform(-1, 1, layout.n_params)
    coefs, intercepts = layout.views(params)
    for W in coefs:
        W /= np.sqrt(W.shape[0])       # keep tanh away from saturation
    X = rng.randn(4099, units[0])
    expected = np.tanh(X @ coefs[0] + intercepts[0]) @ coefs[1] + intercepts[1]
    got = _network.predict(layout, params.astype(dtype), X.astype(dtype))
    assert got.dtype == dtype and got.shape == expected.shape
    assert_allclose(got, expected, rtol=TOL[dtype] * 10, atol=TOL[dtype] * 10)


def test_multi_output_squared_error_delta_scale():
    # delta_scale = 1 reproduces scikit-learn's gradient, whose data part is
    # n_outputs times the true gradient of the reported loss (issue 8349);
    # delta_scale = 1 / n_outputs gives the true gradient.
    rng = np.random.RandomState(13)
    n_out = 3
    layout = _layout.Layout([4, 5, n_out], ["relu"], "squared_error")
    X, Y = _net_problem("squared_error", n_out, rng)
    params = _init_params(layout, rng)
    loss1, g1, _ = _kernel_loss_grad(layout, params, X, Y, None, 0.0, 1.0)
    loss3, g3, _ = _kernel_loss_grad(layout, params, X, Y, None, 0.0, 1.0 / n_out)
    assert loss1 == loss3
    fd = central_differences(
        lambda p: _kernel_loss_grad(layout, p, X, Y, None, 0.0)[0], params, 1e-6)
    assert_rel_close(g3, fd, rtol=1e-6)
    assert_rel_close(g1, n_out * fd, rtol=1e-6)


def test_network_float32_close_to_float64():
    rng = np.random.RandomState(14)
    layout = _layout.Layout([4, 6, 3], ["logistic"], "log_loss")
    X, Y = _net_problem("log_loss", 3, rng, n=10)
    params = _init_params(layout, rng)
    sw = rng.uniform(0.5, 2.0, 10)
    l64, g64, n64 = _kernel_loss_grad(layout, params, X, Y, sw, 0.1)
    l32, g32, n32 = _kernel_loss_grad(
        layout, params.astype(np.float32), X.astype(np.float32), Y.astype(np.float32),
        sw.astype(np.float32), 0.1)
    assert g32.dtype == np.float32
    assert_allclose(l32, l64, rtol=1e-5)
    assert_allclose(g32, g64, rtol=1e-4, atol=1e-6)
    assert_allclose(n32, n64, rtol=1e-5)


def test_loss_and_gradient_checks_buffers():
    rng = np.random.RandomState(15)
    layout = _layout.Layout([3, 2, 1], ["relu"], "squared_error")
    X, Y = rng.randn(5, 3), rng.randn(5, 1)
    params = np.zeros(layout.n_params)
    plan = _plans.GradientPlan(layout, _plans.TrainingSet(layout, X, Y), None, 0.0, 1.0,
                               np.zeros(2))
    with pytest.raises(ValueError, match=f"params has {params.size - 1} values but the "
                                         f"layout has {params.size} parameters"):
        _network.loss_and_gradient(plan, params[:-1], np.zeros(params.size - 1))
    with pytest.raises(ValueError, match="params must be float64, the dtype of the training data"):
        _network.loss_and_gradient(plan, params.astype(np.float32),
                                   np.zeros(params.size, np.float32))


@pytest.mark.parametrize("shuffled", [False, True])
def test_train_epoch_full_batch_sgd_is_one_gradient_step(shuffled):
    # One batch holding every sample, no momentum: params -= lr * gradient.
    rng = np.random.RandomState(16)
    layout = _layout.Layout([4, 5, 2], ["tanh"], "binary_log_loss")
    X, Y = _net_problem("binary_log_loss", 2, rng, n=11)
    sw = rng.uniform(0.5, 2.0, 11)
    params = _init_params(layout, rng)
    loss, grads, norms = _kernel_loss_grad(layout, params, X, Y, sw, 0.2)
    p = params.copy()
    order = rng.permutation(11).astype(np.intp) if shuffled else None
    loss_sum, n_batches, epoch_norms = kernel_calls.sgd_epoch(
        layout, p, X, Y, sw, learning_rate=0.1, batch_size=11, order=order, alpha=0.2)
    assert n_batches == 1
    assert_allclose(loss_sum, 11 * loss, rtol=1e-13)
    assert_allclose(p, params - 0.1 * grads, rtol=1e-13, atol=1e-15)
    assert_allclose(epoch_norms, norms, rtol=1e-13)
