"""The C boundary: every Python entry point of the kernels refuses a wrong argument.

Each case here used to reach a nogil kernel unchecked and read or write out of
bounds (or hand BLAS a wrapped-around int); each must now raise ValueError
naming the argument (TypeError for what is not an array). The checks live in
``_boundary`` and run when a fit's ``TrainingSet``, step rule and
``EpochPlan`` / ``GradientPlan`` are built (``_plans``), and in the
network's ``predict`` and ``forward_all``; ``train_epoch`` rechecks the
shuffle order and ``loss_and_gradient`` the buffers each call passes. The
size limits are tested without allocating: the checks run before any buffer
is made.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from cymlp import _blas, _dispatch, _layout, _plans
from cymlp._dispatch import network as _network

INT_MAX = 2**31 - 1


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


def _epoch_plan(layout, params, X, Y, sw=None, order=None, rule=None, batch_size=3,
                running=None, norms=None):
    data = _plans.TrainingSet(layout, X, Y, sw)
    rule = _plans.sgd_rule(np.zeros_like(params), 0.0, False) if rule is None else rule
    return _plans.EpochPlan(layout, params, running, data, rule, batch_size, 0.0, order,
                            norms)


def _gradient_plan(layout, X, Y, sw=None, running=None, norms=None):
    return _plans.GradientPlan(layout, _plans.TrainingSet(layout, X, Y, sw), running, 0.0,
                               1.0, np.zeros(2) if norms is None else norms)


# --------------------------------------------------------------------------
# Plans checked against their layout and one dtype
# --------------------------------------------------------------------------

def test_training_set_of_another_layout_is_refused():
    layout, X, Y, params = _problem()
    other = _layout.Layout([4, 1, 2], ["relu"], "binary_log_loss")
    data = _plans.TrainingSet(other, X, Y)
    rule = _plans.sgd_rule(np.zeros_like(params), 0.0, False)
    with pytest.raises(ValueError, match="another Layout"):
        _plans.EpochPlan(layout, params, None, data, rule, 3, 0.0, None, None)
    with pytest.raises(ValueError, match="another Layout"):
        _plans.GradientPlan(layout, data, None, 0.0, 1.0, np.zeros(2))


def test_buffers_of_another_dtype_are_refused():
    layout, X, Y, params = _problem()
    with pytest.raises(ValueError, match="X must be float64, the dtype of the other "
                                         "buffers, not float32"):
        _plans.TrainingSet(layout, X.astype(np.float32), Y)
    with pytest.raises(ValueError, match="sample_weight must be float64"):
        _plans.TrainingSet(layout, X, Y, np.ones(6, np.float32))
    with pytest.raises(ValueError, match="params must be float64"):
        _epoch_plan(layout, params.astype(np.float32), X, Y)
    rule32 = _plans.sgd_rule(np.zeros(params.size, np.float32), 0.0, False)
    with pytest.raises(ValueError, match="optimizer's state must be float64"):
        _epoch_plan(layout, params, X, Y, rule=rule32)
    with pytest.raises(ValueError, match="float32 or float64, not int16"):
        _layout.Workspace(layout, 6, np.int16, False)


def test_arrays_must_be_contiguous_writable_numpy_arrays():
    layout, X, Y, params = _problem()
    with pytest.raises(ValueError, match="X must be C-contiguous"):
        _plans.TrainingSet(layout, np.asfortranarray(X), Y)
    with pytest.raises(TypeError, match="Y must be a numpy array"):
        _plans.TrainingSet(layout, X, Y.tolist())
    frozen = params.copy()
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        _epoch_plan(layout, frozen, X, Y)


def test_batch_size_is_checked():
    layout, X, Y, params = _problem()
    for size in (0, -1, 2**31):
        with pytest.raises(ValueError, match=f"batch_size is {size}"):
            _epoch_plan(layout, params, X, Y, batch_size=size)


def test_gradient_norms_need_one_entry_per_layer():
    layout, X, Y, params = _problem()
    with pytest.raises(ValueError, match="grad_norms needs one entry per layer"):
        _epoch_plan(layout, params, X, Y, norms=np.zeros(3))
    with pytest.raises(ValueError, match="grad_norms needs one entry per layer"):
        _gradient_plan(layout, X, Y, norms=np.zeros(1))


def test_batch_norm_needs_its_running_statistics():
    layout = _layout.Layout([4, 3, 2], ["relu"], "binary_log_loss", 0.01, [0.0], [True])
    _, X, Y, _ = _problem()
    params = np.zeros(layout.n_params)
    for running in (None, np.zeros(layout.n_running - 1)):
        with pytest.raises(ValueError, match="running statistics buffer"):
            _network.predict(layout, params, X, running)
        with pytest.raises(ValueError, match="running statistics buffer"):
            _epoch_plan(layout, params, X, Y, running=running)
        with pytest.raises(ValueError, match="running statistics buffer"):
            _gradient_plan(layout, X, Y, running=running)


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
    with pytest.raises(ValueError, match="Y has 5 rows but X has 6"):
        _plans.TrainingSet(layout, Xk, Y[:5].copy())
    with pytest.raises(ValueError, match="sample_weight has 4 rows but X has 6"):
        _plans.TrainingSet(layout, Xk, Y, np.ones(4))


def test_y_columns_must_match_the_outputs():
    layout, X, Y, params = _problem()
    with pytest.raises(ValueError, match="Y has 3 columns; this network has 2 outputs"):
        _plans.TrainingSet(layout, X, np.ones((6, 3)))


def test_x_columns_must_match_the_inputs():
    layout, X, Y, params = _problem()
    with pytest.raises(ValueError, match="X has 5 columns; this network takes 4"):
        _plans.TrainingSet(layout, np.ones((6, 5)), Y)
    with pytest.raises(ValueError, match="X has 5 columns; this network takes 4"):
        _network.predict(layout, params, np.ones((6, 5)))


def test_params_length_is_checked():
    layout, X, Y, params = _problem()
    message = f"params has {params.size - 1} values but the layout has {params.size}"
    for entry in (_network.predict, _network.forward_all):
        with pytest.raises(ValueError, match=message):
            entry(layout, params[:-1], X)
    with pytest.raises(ValueError, match=message):
        _epoch_plan(layout, params[:-1].copy(), X, Y,
                    rule=_plans.sgd_rule(np.zeros(params.size - 1), 0.0, False))
    with pytest.raises(ValueError, match=message):
        _network.loss_and_gradient(_gradient_plan(layout, X, Y), params[:-1],
                                   np.zeros(params.size - 1))
    with pytest.raises(ValueError, match="the optimizer's state has"):
        _epoch_plan(layout, params, X, Y,
                    rule=_plans.sgd_rule(np.zeros(params.size + 1), 0.0, False))


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
    calls = {
        "predict": lambda: _network.predict(layout, params, Xk),
        "forward_all": lambda: _network.forward_all(layout, params, Xk),
        "TrainingSet": lambda: _plans.TrainingSet(layout, Xk, Y),
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
    order = np.arange(6, dtype=np.intp)
    plan = _epoch_plan(layout, params, X, Y, order=order)
    _network.train_epoch(plan, 0.1)
    order[4] = 6        # changed in place between epochs, as the shuffle does
    with pytest.raises(ValueError, match=r"order\[4\] = 6 is not a sample index"):
        _network.train_epoch(plan, 0.1)
    with pytest.raises(ValueError, match="order has 5 entries"):
        _epoch_plan(layout, params, X, Y, order=order[:5].copy())


def test_adam_needs_both_moments_and_its_step_counter():
    layout, X, Y, params = _problem()
    m, v = np.zeros_like(params), np.zeros_like(params)
    with pytest.raises(ValueError, match="t must hold exactly one step counter"):
        _plans.adam_rule(m, v, np.zeros(0, np.int64), 0.9, 0.999, 1e-8)
    with pytest.raises(ValueError, match="m and v differ in length"):
        _plans.adam_rule(m, v[:-1], np.zeros(1, np.int64), 0.9, 0.999, 1e-8)
    with pytest.raises(ValueError, match="Adam's v must be float64"):
        _plans.adam_rule(m, v.astype(np.float32), np.zeros(1, np.int64), 0.9, 0.999, 1e-8)
    with pytest.raises(ValueError):
        _plans.adam_rule(m, v, np.zeros(1, np.int32), 0.9, 0.999, 1e-8)


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
