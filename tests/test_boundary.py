"""The C boundary: every Python entry point of the kernels refuses a wrong argument.

Each case here used to reach a nogil kernel unchecked and read or write out of
bounds (or hand BLAS a wrapped-around int); each must now raise ValueError
naming the argument. The size limits are tested without allocating: the
checks run before any buffer is made.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from cymlp import _blas, _dispatch, _layout, _network

INT_MAX = 2**31 - 1
SGD, ADAM = _network.SOLVER_CODES["sgd"], _network.SOLVER_CODES["adam"]


def _problem(n=6, n_features=4, dtype=np.float64):
    rng = np.random.RandomState(0)
    layout = _layout.Layout([n_features, 3, 2], ["relu"], "binary_log_loss")
    X = rng.randn(n, n_features).astype(dtype)
    Y = (rng.rand(n, 2) > 0.5).astype(dtype)
    params = rng.uniform(-0.5, 0.5, layout.n_params).astype(dtype)
    return layout, X, Y, params


def _csr(X):
    A = sp.csr_matrix(X)
    return (A.data.copy(), A.indices.astype(np.int32), A.indptr.astype(np.int32))


def _runner(layout, ws, params, X, Y, sw=None, order=None, solver=SGD, state2=None,
            batch_size=3, adam_t=None):
    return _network.EpochRunner(
        layout, ws, params, np.empty_like(params), np.zeros_like(params),
        params[:0] if state2 is None else state2, params[:0], X, Y, sw, order,
        batch_size, solver, 0.0, False, 0.9, 0.999, 1e-8,
        np.zeros(1, np.int64) if adam_t is None else adam_t, 0.0, None)


def _loss_grad(layout, ws, params, X, Y, sw=None):
    return _network.loss_and_gradient(layout, ws, params, np.empty_like(params), X, Y,
                                      sw, 0.0, 1.0, np.zeros(2))


# --------------------------------------------------------------------------
# A Workspace checked against the layout and the parameters' dtype
# --------------------------------------------------------------------------

def test_workspace_for_another_layout_is_refused():
    layout, X, Y, params = _problem()
    # a narrower hidden layer: its buffers are too small for this network
    other = _layout.Layout([4, 1, 2], ["relu"], "binary_log_loss")
    ws = _layout.Workspace(other, 6, np.float64, True)
    with pytest.raises(ValueError, match="another Layout"):
        _runner(layout, ws, params, X, Y)
    with pytest.raises(ValueError, match="another Layout"):
        _loss_grad(layout, ws, params, X, Y)


def test_workspace_of_another_dtype_is_refused():
    layout, X, Y, params = _problem()
    ws32 = _layout.Workspace(layout, 6, np.float32, True)
    with pytest.raises(ValueError, match="32-bit floats but the parameters are 64-bit"):
        _runner(layout, ws32, params, X, Y)
    with pytest.raises(ValueError, match="32-bit floats but the parameters are 64-bit"):
        _loss_grad(layout, ws32, params, X, Y)
    with pytest.raises(ValueError, match="float32 or float64, not int16"):
        _layout.Workspace(layout, 6, np.int16, False)


def test_workspace_capacity_is_checked():
    layout, X, Y, params = _problem()
    ws = _layout.Workspace(layout, 2, np.float64, True)
    with pytest.raises(ValueError, match="capacity = 2"):
        _runner(layout, ws, params, X, Y, batch_size=3)
    with pytest.raises(ValueError, match="capacity = 2"):
        _loss_grad(layout, ws, params, X, Y)


# --------------------------------------------------------------------------
# Rows read from X and compared with Y and sample_weight
# --------------------------------------------------------------------------

@pytest.mark.parametrize("sparse", [False, True])
def test_prediction_reads_the_rows_from_x(sparse):
    layout, X, Y, params = _problem(n=5)
    Xk = _csr(X) if sparse else X
    assert _network.predict(layout, params, Xk).shape == (5, 2)
    assert [a.shape for a in _network.forward_all(layout, params, Xk)] == [(5, 3), (5, 2)]


@pytest.mark.parametrize("sparse", [False, True])
def test_y_and_sample_weight_rows_must_match_x(sparse):
    layout, X, Y, params = _problem(n=6)
    Xk = _csr(X) if sparse else X
    ws = _layout.Workspace(layout, 6, np.float64, True)
    with pytest.raises(ValueError, match="Y has 5 rows but X has 6"):
        _runner(layout, ws, params, Xk, Y[:5].copy())
    with pytest.raises(ValueError, match="Y has 7 rows but X has 6"):
        _loss_grad(layout, ws, params, Xk, np.vstack([Y, Y[:1]]))
    with pytest.raises(ValueError, match="sample_weight has 4 rows but X has 6"):
        _runner(layout, ws, params, Xk, Y, sw=np.ones(4))
    with pytest.raises(ValueError, match="sample_weight has 4 rows but X has 6"):
        _loss_grad(layout, ws, params, Xk, Y, sw=np.ones(4))


def test_y_columns_must_match_the_outputs():
    layout, X, Y, params = _problem()
    ws = _layout.Workspace(layout, 6, np.float64, True)
    with pytest.raises(ValueError, match="Y has 3 columns; this network has 2 outputs"):
        _loss_grad(layout, ws, params, X, np.ones((6, 3)))


def test_params_length_is_checked_by_prediction():
    layout, X, Y, params = _problem()
    for entry in (_network.predict, _network.forward_all):
        with pytest.raises(ValueError, match=f"params has {params.size - 1} values"):
            entry(layout, params[:-1], X)


# --------------------------------------------------------------------------
# CSR structure
# --------------------------------------------------------------------------

def _bad_csrs(X):
    data, indices, indptr = _csr(X)
    n_features = X.shape[1]

    def with_(i=None, p=None, d=None):
        return (data if d is None else d, indices if i is None else i,
                indptr if p is None else p)

    big = indices.copy()
    big[-1] = n_features
    neg = indices.copy()
    neg[0] = -1
    down = indptr.copy()
    down[2] = down[3] + 1
    past = indptr.copy()
    past[-1] = data.size + 1
    start = indptr.copy()
    start[0] = 1
    return {
        "column index 4 at position": with_(i=big),
        "column index -1 at position 0": with_(i=neg),
        "indptr decreases at row 2": with_(p=down),
        "indptr must run from 0 to at most nnz": with_(p=past),
        "indptr must run from 0": with_(p=start),
        "indices has": with_(i=indices[:-1].copy()),
        "indptr needs": with_(p=indptr[:0].copy()),
    }


@pytest.mark.parametrize("case", list(_bad_csrs(np.ones((6, 4)))))
def test_csr_structure_is_range_checked(case):
    layout, X, Y, params = _problem()
    Xk = _bad_csrs(X)[case]
    ws = _layout.Workspace(layout, 6, np.float64, False)
    calls = {
        "predict": lambda: _network.predict(layout, params, Xk),
        "forward_all": lambda: _network.forward_all(layout, params, Xk),
        "EpochRunner": lambda: _runner(layout, ws, params, Xk, Y),
        "loss_and_gradient": lambda: _loss_grad(layout, ws, params, Xk, Y),
    }
    for name, call in calls.items():
        with pytest.raises(ValueError, match=case):
            call()


def test_valid_csr_with_empty_rows_passes():
    layout, X, Y, params = _problem()
    X[[1, 4]] = 0.0
    assert np.allclose(_network.predict(layout, params, _csr(X)),
                       _network.predict(layout, params, X), rtol=1e-13)


# --------------------------------------------------------------------------
# Optimizer state and the shuffle order
# --------------------------------------------------------------------------

def test_order_is_checked_every_epoch():
    layout, X, Y, params = _problem()
    ws = _layout.Workspace(layout, 3, np.float64, True)
    order = np.arange(6, dtype=np.intp)
    runner = _runner(layout, ws, params, X, Y, order=order)
    runner.run(0.1)
    order[4] = 6        # changed in place between epochs, as the shuffle does
    with pytest.raises(ValueError, match=r"order\[4\] = 6 is not a sample index"):
        runner.run(0.1)
    with pytest.raises(ValueError, match="order has 5 entries"):
        _runner(layout, ws, params, X, Y, order=order[:5].copy())


def test_adam_needs_its_second_moment_and_step_counter():
    layout, X, Y, params = _problem()
    ws = _layout.Workspace(layout, 3, np.float64, True)
    with pytest.raises(ValueError, match="state2"):
        _runner(layout, ws, params, X, Y, solver=ADAM)
    with pytest.raises(ValueError, match="adam_t"):
        _runner(layout, ws, params, X, Y, solver=ADAM, state2=np.zeros_like(params),
                adam_t=np.zeros(0, np.int64))
    with pytest.raises(ValueError, match="solver code 7"):
        _runner(layout, ws, params, X, Y, solver=7)


def test_prelu_slopes_length_is_checked():
    a = np.ones((2, 3))
    with pytest.raises(ValueError, match="slopes length"):
        _dispatch.load_entries("baseline").derivative("prelu", a, np.ones((2, 3)), z=a, slopes=np.ones(2))


# --------------------------------------------------------------------------
# 32-bit BLAS ints and buffer sizes: checked before allocating
# --------------------------------------------------------------------------

def test_layer_wider_than_a_blas_int_is_refused():
    with pytest.raises(ValueError, match=r"layer 1's number of units is 2147483648.*"
                                         r"at most 2\*\*31 - 1 = 2147483647"):
        _layout.Layout([4, 2**31, 1], ["relu"], "squared_error")
    _layout.Layout([4, INT_MAX, 1], ["relu"], "squared_error")   # sizes only


def test_parameter_count_overflow_is_refused():
    with pytest.raises(ValueError, match="the parameter buffer would hold"):
        _layout.Layout([INT_MAX] * 4, ["relu"] * 2, "squared_error")


def test_batch_or_lbfgs_pass_over_a_blas_int_of_rows_is_refused():
    layout = _layout.Layout([4, 3, 2], ["relu"], "squared_error")
    with pytest.raises(ValueError, match=r"workspace capacity .* is 2147483648.*"
                                         r"at most 2\*\*31 - 1"):
        _layout.Workspace(layout, 2**31, np.float64, False)
    with pytest.raises(ValueError, match="is -1"):
        _layout.Workspace(layout, -1, np.float64, False)


def test_workspace_byte_size_overflow_is_refused():
    wide = _layout.Layout([1, INT_MAX, 1], ["relu"], "squared_error")
    with pytest.raises(ValueError, match="a workspace buffer .* would hold"):
        _layout.Workspace(wide, 2**30, np.float64, False)
    wide_in = _layout.Layout([INT_MAX, 1], [], "squared_error")
    with pytest.raises(ValueError, match="gathered rows of X would hold"):
        _layout.Workspace(wide_in, INT_MAX, np.float32, True)


def test_gemm_dimension_over_a_blas_int_is_refused():
    # (2**31, 0) arrays hold no data: nothing is allocated
    a, b, c = np.zeros((2**31, 0)), np.zeros((0, 0)), np.zeros((2**31, 0))
    with pytest.raises(ValueError, match=r"rows of c is 2147483648.*2\*\*31 - 1"):
        _blas.gemm_py(False, False, 1.0, a, b, 0.0, c)
