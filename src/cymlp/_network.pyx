"""The network's passes and its epoch loop (the shapes live in _layout.pyx).

A hidden layer h computes, in training,
    z = in @ W + b -> [batch norm: zhat = (z - mean) / sqrt(var + eps),
    y = gamma zhat + beta] -> a = f(y) -> [dropout: a * keep]
and at prediction the same with running statistics and no dropout.
Dropout masks come from a splitmix64 stream seeded by the estimator.
Gradients use the flat parameter buffer's layout, so optimizers and L-BFGS
see plain vectors; batch-norm running means and variances live in a
separate buffer ``running`` (per layer: means, then variances).

The epoch loop gathers each batch into the fit's ``Workspace``, runs the
forward and backward passes and one optimizer step; nothing is allocated
inside ``run_epoch``. Input X is either a C-contiguous dense array or CSR
arrays ``(data, indices, indptr)``; only the first layer reads it.
"""

import threading

import numpy as np

from cython cimport floating
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset
from libc.math cimport sqrt, pow
from cpython.exc cimport PyErr_CheckSignals

from ._blas cimport gemm
from ._activations cimport (bias_activation, bias_activation_keeping, activation_derivative,
                            needs_input)
from ._losses cimport output_activation, loss_and_delta
from ._optimizers cimport sgd_step, adam_step
from ._layer_extras cimport batch_norm_forward, batch_norm_backward, dropout_forward
from ._rowops cimport gather_rows, column_sums, sum_of_squares
from ._layout cimport LayoutC, WorkC, Layout, Workspace, blas_int, checked_nbytes

cdef enum:
    SOLVER_SGD = 0
    SOLVER_ADAM = 1

SOLVER_CODES = {"sgd": SOLVER_SGD, "adam": SOLVER_ADAM}

# Rows per chunk when predicting: bounds the scratch memory of predict.
cdef Py_ssize_t PREDICT_CHUNK = 256


cdef struct Source:
    # Where the first layer reads X: dense rows, or CSR rows.
    const void* dense        # (n_samples, n_features) row-major, or NULL
    const void* data         # CSR values, or NULL
    const int* indices
    const int* indptr
    Py_ssize_t n_features


# --------------------------------------------------------------------------
# First layer: the only one that reads X (dense or CSR)
# --------------------------------------------------------------------------

cdef void input_product(const Source* src, const Py_ssize_t* rows, Py_ssize_t start,
                        Py_ssize_t n, const floating* W, Py_ssize_t fan_out,
                        floating* out) noexcept nogil:
    """out (n, fan_out) = X[rows] @ W; dense sources must already be gathered."""
    cdef Py_ssize_t i, j, p, r
    cdef const floating* data
    cdef const floating* w_row
    cdef floating x
    cdef floating* o
    if src.dense != NULL:
        gemm(False, False, <int> n, <int> fan_out, <int> src.n_features, <floating> 1,
             (<const floating*> src.dense) + start * src.n_features, <int> src.n_features,
             W, <int> fan_out, <floating> 0, out, <int> fan_out)
        return
    data = <const floating*> src.data
    memset(out, 0, n * fan_out * sizeof(floating))
    for i in range(n):
        r = rows[i] if rows != NULL else start + i
        o = out + i * fan_out
        for p in range(src.indptr[r], src.indptr[r + 1]):
            x = data[p]
            w_row = W + src.indices[p] * fan_out
            for j in range(fan_out):
                o[j] = o[j] + x * w_row[j]


cdef void input_gradient(const Source* src, const Py_ssize_t* rows, Py_ssize_t start,
                         Py_ssize_t n, const floating* delta, Py_ssize_t fan_out,
                         floating* grad) noexcept nogil:
    """grad (n_features, fan_out) = X[rows].T @ delta."""
    cdef Py_ssize_t i, j, p, r
    cdef const floating* data
    cdef const floating* d
    cdef floating x
    cdef floating* g
    if src.dense != NULL:
        gemm(True, False, <int> src.n_features, <int> fan_out, <int> n, <floating> 1,
             (<const floating*> src.dense) + start * src.n_features, <int> src.n_features,
             delta, <int> fan_out, <floating> 0, grad, <int> fan_out)
        return
    data = <const floating*> src.data
    memset(grad, 0, src.n_features * fan_out * sizeof(floating))
    for i in range(n):
        r = rows[i] if rows != NULL else start + i
        d = delta + i * fan_out
        for p in range(src.indptr[r], src.indptr[r + 1]):
            x = data[p]
            g = grad + src.indices[p] * fan_out
            for j in range(fan_out):
                g[j] = g[j] + x * d[j]


cdef inline floating* layer_output(const LayoutC* L, floating* acts, void* dropped,
                                   Py_ssize_t l, Py_ssize_t cap,
                                   bint training) noexcept nogil:
    """What hidden layer l feeds forward: its activations, after dropout."""
    if training and L.drop[l] > 0:
        return (<floating*> dropped) + cap * L.cum[l]
    return acts + cap * L.cum[l]


cdef inline const floating* param_or_null(const floating* params,
                                          Py_ssize_t offset) noexcept nogil:
    # if/else, not `NULL if ... else ...`: Cython types that expression as
    # void*, and assigning the const pointer to it drops the const (a warning)
    if offset < 0:
        return NULL
    return params + offset


# --------------------------------------------------------------------------
# Forward and backward passes over n rows
# --------------------------------------------------------------------------

cdef void forward(const LayoutC* L, const floating* params, floating* running,
                  double momentum, const Source* src, const Py_ssize_t* rows,
                  Py_ssize_t start, Py_ssize_t n, WorkC* ws, bint training) noexcept nogil:
    """Every layer's activations for n rows; the last layer is the output.

    Training keeps what the backward pass needs (``ws.inputs``, filled by
    bias_activation_keeping; zhat; dropout masks); prediction needs only
    ``ws.acts`` (and ``ws.stats`` for nothing: batch norm then uses
    ``running``).
    """
    cdef Py_ssize_t l, h, fan_in, fan_out, cap = ws.capacity
    cdef floating* out
    cdef const floating* bias
    cdef floating* acts = <floating*> ws.acts
    for l in range(L.n_layers - 1):
        h = l + 1
        fan_in = L.units[l]
        fan_out = L.units[h]
        out = acts + cap * L.cum[h]
        if l == 0:
            input_product(src, rows, start, n, params + L.coef_off[0], fan_out, out)
        else:
            gemm(False, False, <int> n, <int> fan_out, <int> fan_in, <floating> 1,
                 layer_output(L, acts, ws.dropped, l, cap, training), <int> fan_in,
                 params + L.coef_off[l], <int> fan_out, <floating> 0, out, <int> fan_out)
        bias = params + L.bias_off[l]
        if h == L.n_layers - 1:
            output_activation(L.head, out, bias, n, fan_out)
            break
        if L.gamma_off[h] >= 0:
            batch_norm_forward(
                out, bias, n, fan_out, params + L.gamma_off[h], params + L.beta_off[h],
                (<floating*> ws.normed) + cap * L.cum[h] if training else NULL,
                (<floating*> ws.stats) + 2 * L.cum[h] if training else NULL,
                running + L.run_off[h], momentum, training)
            bias = NULL
        if training and needs_input(L.act[h]):
            bias_activation_keeping(L.act[h], out, bias, (<floating*> ws.inputs) + cap * L.cum[h],
                                    n, fan_out, L.negative_slope,
                                    param_or_null(params, L.slope_off[h]))
        else:
            bias_activation(L.act[h], out, bias, n, fan_out, L.negative_slope,
                            param_or_null(params, L.slope_off[h]))
        if training and L.drop[h] > 0:
            dropout_forward(out, (<floating*> ws.keep) + cap * L.cum[h],
                            (<floating*> ws.dropped) + cap * L.cum[h], n * fan_out,
                            L.drop[h], &ws.rng)


cdef double backward(const LayoutC* L, const floating* params, floating* grads,
                     const Source* src, const Py_ssize_t* rows, Py_ssize_t start,
                     Py_ssize_t n, const floating* y, const floating* sw, double sw_sum,
                     double alpha, double delta_scale, WorkC* ws,
                     double* grad_norms) noexcept nogil:
    """Gradients of the loss over n rows after a training ``forward``; returns the loss.

    loss = (sum_i w_i l_i + alpha / 2 * ||W||^2) / sw_sum, and every gradient
    is divided by sw_sum, as in scikit-learn. ``grad_norms[l]`` (IN/OUT) gets
    the L2 norm of layer l's weight gradient added to it (skipped if NULL).
    """
    cdef Py_ssize_t last = L.n_layers - 2, cap = ws.capacity
    cdef Py_ssize_t l, i, j, fan_in, fan_out, size
    cdef const floating* W
    cdef floating* gW
    cdef floating* gb
    cdef floating* gs
    cdef floating* delta
    cdef floating* below
    cdef const floating* keep
    cdef const floating* y_in
    cdef double data_loss, w_sq = 0.0
    cdef floating alpha_f = <floating> alpha
    cdef floating* acts = <floating*> ws.acts
    cdef floating* deltas = <floating*> ws.deltas

    fan_out = L.units[last + 1]
    delta = deltas + cap * L.cum[last + 1]
    data_loss = loss_and_delta(L.head, acts + cap * L.cum[last + 1], y, sw, n, fan_out,
                               delta_scale, delta)
    for l in range(last, -1, -1):
        fan_in = L.units[l]
        fan_out = L.units[l + 1]
        size = fan_in * fan_out
        W = params + L.coef_off[l]
        gW = grads + L.coef_off[l]
        gb = grads + L.bias_off[l]
        delta = deltas + cap * L.cum[l + 1]
        if l == 0:
            input_gradient(src, rows, start, n, delta, fan_out, gW)
        else:
            gemm(True, False, <int> fan_in, <int> fan_out, <int> n, <floating> 1,
                 layer_output(L, acts, ws.dropped, l, cap, True), <int> fan_in, delta, <int> fan_out,
                 <floating> 0, gW, <int> fan_out)
        # gW = (in.T delta + alpha W) / sw_sum, in scikit-learn's order
        for i in range(size):
            gW[i] = (gW[i] + alpha_f * W[i]) / <floating> sw_sum
        w_sq += sum_of_squares(W, size)
        if grad_norms != NULL:
            grad_norms[l] += sqrt(sum_of_squares(gW, size))
        # gb = sum over rows of delta / sw_sum
        column_sums(delta, n, fan_out, gb)
        for j in range(fan_out):
            gb[j] = gb[j] / <floating> sw_sum
        if l == 0:
            break
        # Hidden layer l: delta w.r.t. its output, then back through dropout,
        # the activation and batch norm to its pre-activation z.
        below = deltas + cap * L.cum[l]
        gemm(False, True, <int> n, <int> fan_in, <int> fan_out, <floating> 1,
             delta, <int> fan_out, W, <int> fan_out, <floating> 0, below, <int> fan_in)
        size = n * fan_in
        if L.drop[l] > 0:
            keep = (<floating*> ws.keep) + cap * L.cum[l]
            for i in range(size):
                below[i] = below[i] * keep[i]
        y_in = NULL
        if needs_input(L.act[l]):
            y_in = (<floating*> ws.inputs) + cap * L.cum[l]   # z, or GELU's f'(z)
        if L.slope_off[l] >= 0:
            # d loss / d slope_j = sum_i delta_ij * min(y_ij, 0)
            gs = grads + L.slope_off[l]
            memset(gs, 0, fan_in * sizeof(floating))
            for i in range(n):
                for j in range(fan_in):
                    gs[j] = gs[j] + (below[i * fan_in + j] * y_in[i * fan_in + j]
                                     if y_in[i * fan_in + j] < 0 else 0)
            for j in range(fan_in):
                gs[j] = gs[j] / <floating> sw_sum
        activation_derivative(L.act[l], acts + cap * L.cum[l], y_in, below, n, fan_in,
                              L.negative_slope, param_or_null(params, L.slope_off[l]))
        if L.gamma_off[l] >= 0:
            batch_norm_backward(below, (<floating*> ws.normed) + cap * L.cum[l],
                                (<floating*> ws.stats) + 2 * L.cum[l],
                                params + L.gamma_off[l], n, fan_in,
                                grads + L.gamma_off[l], grads + L.beta_off[l], sw_sum)
    return (data_loss + 0.5 * alpha * w_sq) / sw_sum


# --------------------------------------------------------------------------
# The epoch loop
# --------------------------------------------------------------------------

cdef int epoch(const LayoutC* L, floating* params, floating* grads, floating* state1,
               floating* state2, Py_ssize_t n_params, floating* running,
               const Source* src, const floating* Y, const floating* sw,
               const Py_ssize_t* order, Py_ssize_t n_samples, Py_ssize_t batch_size,
               WorkC* ws, int solver, double learning_rate, double momentum,
               bint nesterov, double beta_1, double beta_2, double epsilon,
               long long* adam_t, double alpha, double* loss_sum, double* grad_norms,
               Py_ssize_t* n_batches, bint check_signals) except -1 nogil:
    """One pass over the samples in ``order`` (or in storage order if NULL).

    For each batch: gather rows into the workspace, forward, backward, one
    optimizer step on the flat buffer. With ``check_signals`` (the main
    thread: only it receives Ctrl-C) it checks for signals after every batch,
    so an interrupt leaves the weights of the last finished step; other
    threads never take the GIL inside the loop.
    """
    cdef Py_ssize_t n_out = L.units[L.n_layers - 1]
    cdef Py_ssize_t nf = L.units[0]
    cdef Py_ssize_t start, nb, i, r, row_start
    cdef Source batch_src = src[0]
    cdef const Py_ssize_t* rows
    cdef const floating* yb
    cdef const floating* swb
    cdef floating* xbuf = <floating*> ws.xbuf
    cdef floating* ybuf = <floating*> ws.ybuf
    cdef floating* swbuf = <floating*> ws.swbuf
    cdef double sw_sum, batch_loss, step

    start = 0
    while start < n_samples:
        nb = min(batch_size, n_samples - start)
        rows = NULL
        row_start = start
        yb = Y + start * n_out
        swb = NULL                 # (not a NULL-if-else: see param_or_null)
        if sw != NULL:
            swb = sw + start
        if order != NULL:
            rows = order + start
            row_start = 0
            gather_rows(Y, rows, nb, n_out, ybuf)
            yb = ybuf
            if sw != NULL:
                for i in range(nb):
                    swbuf[i] = sw[rows[i]]
                swb = swbuf
            if src.dense != NULL:
                gather_rows(<const floating*> src.dense, rows, nb, nf, xbuf)
                batch_src.dense = xbuf
        if swb == NULL:
            sw_sum = <double> nb
        else:
            sw_sum = 0.0
            for i in range(nb):
                sw_sum += swb[i]
            if sw_sum == 0:
                # a batch of zero total weight carries no gradient: no step
                start += nb
                continue
        forward(L, params, running, 0.1, &batch_src, rows, row_start, nb, ws, True)
        batch_loss = backward(L, params, grads, &batch_src, rows, row_start, nb, yb, swb,
                              sw_sum, alpha, 1.0, ws, grad_norms)
        loss_sum[0] += batch_loss * nb
        n_batches[0] += 1
        if solver == SOLVER_ADAM:
            adam_t[0] += 1
            step = (learning_rate * sqrt(1 - pow(beta_2, <double> adam_t[0]))
                    / (1 - pow(beta_1, <double> adam_t[0])))
            adam_step(params, grads, state1, state2, n_params, step, beta_1, beta_2,
                      epsilon)
        else:
            sgd_step(params, grads, state1, n_params, learning_rate, momentum, nesterov)
        start += nb
        if check_signals:
            with gil:
                PyErr_CheckSignals()
    return 0


# --------------------------------------------------------------------------
# Python entry points
# --------------------------------------------------------------------------

# Every Python entry point below validates its arguments here, once per call
# into C (the epoch runner: once per fit, plus the O(n) order check per
# epoch); the nogil functions above trust what they are given.

cdef int check_csr(const int[::1] indptr, const int[::1] indices, Py_ssize_t nnz,
                   Py_ssize_t n_features) except -1:
    """CSR structure the kernels can follow: indptr from 0, non-decreasing, within
    the nnz stored values, every column index in [0, n_features).  O(nnz)."""
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1, i, p, used
    cdef int lo = 0, hi = 0, decreases = 0
    if indices.shape[0] != nnz:
        raise ValueError(f"CSR X: indices has {indices.shape[0]} entries but data has {nnz}")
    if indptr[0] != 0 or indptr[n_rows] > nnz:
        raise ValueError(f"CSR X: indptr must run from 0 to at most nnz = {nnz}, "
                         f"got {indptr[0]} .. {indptr[n_rows]}")
    used = indptr[n_rows]
    with nogil:
        # branch-free reductions (they vectorize); the culprit is found below
        for i in range(n_rows):
            decreases |= indptr[i + 1] < indptr[i]
        if used > 0:
            lo = hi = indices[0]
        for p in range(used):
            lo = min(lo, indices[p])
            hi = max(hi, indices[p])
    if decreases:
        i = np.flatnonzero(np.diff(np.asarray(indptr)) < 0)[0]
        raise ValueError(f"CSR X: indptr decreases at row {i} "
                         f"({indptr[i]} > {indptr[i + 1]})")
    if lo < 0 or hi >= n_features:
        cols = np.asarray(indices[:used])
        p = np.flatnonzero((cols < 0) | (cols >= n_features))[0]
        raise ValueError(f"CSR X: column index {indices[p]} at position {p} is "
                         f"outside [0, {n_features}) for this network's inputs")
    return 0


cdef Py_ssize_t fill_source(Source* src, object X, Py_ssize_t n_features,
                            floating* dtype_tag) except -1:
    """Point ``src`` at X, checked; return X's number of rows.

    X is a C-contiguous 2-D array with ``n_features`` columns or a CSR
    ``(data, indices, indptr)`` tuple (int32 indices) of the same width.
    """
    cdef const floating[:, ::1] dense
    cdef const floating[::1] data
    cdef const int[::1] indices, indptr
    src.dense = NULL
    src.data = NULL
    src.indices = NULL
    src.indptr = NULL
    src.n_features = n_features
    if isinstance(X, tuple):
        if len(X) != 3:
            raise ValueError("CSR X must be a (data, indices, indptr) tuple")
        data, indices, indptr = X[0], X[1], X[2]
        if indptr.shape[0] < 1:
            raise ValueError("CSR X: indptr needs n_rows + 1 >= 1 entries")
        check_csr(indptr, indices, data.shape[0], n_features)
        if data.shape[0] > 0:
            src.data = &data[0]
            src.indices = &indices[0]
        src.indptr = &indptr[0]
        return indptr.shape[0] - 1
    dense = X
    if dense.shape[1] != n_features:
        raise ValueError(f"X has {dense.shape[1]} columns; this network takes {n_features}")
    if dense.shape[0] > 0:
        src.dense = &dense[0, 0]
    return dense.shape[0]


cdef int check_rows(Py_ssize_t actual, Py_ssize_t expected, str name) except -1:
    """``name`` must have one row per row of X."""
    if actual != expected:
        raise ValueError(f"{name} has {actual} rows but X has {expected}")
    return 0


cdef int check_params(Layout layout, Py_ssize_t size, str name) except -1:
    """A flat parameter-sized buffer must have the layout's length."""
    if size != layout.n_params:
        raise ValueError(f"{name} has {size} values but the layout has "
                         f"{layout.n_params} parameters")
    return 0


cdef int check_workspace(Layout layout, Workspace ws, Py_ssize_t itemsize,
                         Py_ssize_t rows) except -1:
    """``ws`` was sized for ``layout``, holds the parameters' dtype and ``rows`` fit."""
    if ws.layout is not layout:
        raise ValueError("the Workspace was sized for another Layout")
    if ws.itemsize != itemsize:
        raise ValueError(f"the Workspace holds {8 * ws.itemsize}-bit floats but the "
                         f"parameters are {8 * itemsize}-bit")
    if rows < 1 or rows > ws.c.capacity:
        raise ValueError(f"{rows} rows per pass: must be in [1, workspace capacity = "
                         f"{ws.c.capacity}]")
    return 0


cdef Py_ssize_t first_out_of_range(const Py_ssize_t* order, Py_ssize_t n,
                                   Py_ssize_t n_rows) noexcept nogil:
    """Index of the first entry of ``order`` outside [0, n_rows), or -1."""
    cdef Py_ssize_t i
    for i in range(n):
        if order[i] < 0 or order[i] >= n_rows:
            return i
    return -1


cdef floating* running_pointer(Layout layout, const floating[::1] running) except? NULL:
    """Pointer into the running statistics, checked against the layout.

    Only training writes through it; prediction may pass a read-only buffer.
    """
    if layout.n_running == 0:
        return NULL
    if running is None or running.shape[0] != layout.n_running:
        raise ValueError("batch normalization needs its running statistics buffer")
    return <floating*> &running[0]


cdef void* writable_data(object arr, bint is_double) except? NULL:
    """Address of a C-contiguous float32/float64 array's data (NULL if empty or None)."""
    cdef double[::1] d
    cdef float[::1] f
    if arr is None or arr.shape[0] == 0:
        return NULL
    if is_double:
        d = arr
        return &d[0]
    f = arr
    return &f[0]


cdef const void* readonly_data(object arr, bint is_double) except? NULL:
    """Address of a (possibly read-only) float array's data (NULL if empty or None)."""
    cdef const double[::1] d
    cdef const float[::1] f
    if arr is None or arr.size == 0:
        return NULL
    if is_double:
        d = arr.reshape(-1)
        return &d[0]
    f = arr.reshape(-1)
    return &f[0]


cdef class EpochRunner:
    """One fit's epoch loop with every buffer bound once.

    Binding the buffers (and picking the float32 or float64 kernel) once per
    fit leaves one cheap call per epoch: ``run(learning_rate)``. The arrays
    are kept alive here; ``order`` is the permutation array the caller
    reshuffles in place between epochs (or None for storage order).
    Every argument is checked here, once (CSR X's structure included: the
    caller must not change it while the runner lives); ``order`` is checked
    again by every ``run``, since the caller rewrites it.
    """
    cdef Layout layout
    cdef Workspace ws
    cdef tuple arrays
    cdef bint is_double, check_signals
    cdef void* params
    cdef void* grads
    cdef void* state1
    cdef void* state2
    cdef void* running
    cdef const void* Y
    cdef const void* sw
    cdef const Py_ssize_t* order
    cdef long long* adam_t
    cdef double* grad_norms
    cdef Source src
    cdef Py_ssize_t n_samples, batch_size
    cdef int solver
    cdef double momentum, beta_1, beta_2, epsilon, alpha
    cdef bint nesterov

    def __cinit__(self, Layout layout, Workspace ws, params, grads, state1, state2,
                  running, X, Y, sample_weight, order, Py_ssize_t batch_size,
                  int solver, double momentum, bint nesterov, double beta_1,
                  double beta_2, double epsilon, adam_t, double alpha, grad_norms):
        cdef long long[::1] t_view = adam_t
        cdef double[::1] norms_view
        cdef const Py_ssize_t[::1] order_view
        self.layout = layout
        self.ws = ws
        self.arrays = (params, grads, state1, state2, running, X, Y, sample_weight,
                       order, adam_t, grad_norms)
        self.is_double = params.dtype == np.float64
        dtype = params.dtype
        for name, arr in (("grads", grads), ("state1", state1), ("state2", state2),
                          ("Y", Y)):
            if arr.dtype != dtype:
                raise ValueError(f"{name} must have the parameters' dtype {dtype}")
        check_params(layout, params.shape[0], "params")
        check_params(layout, grads.shape[0], "grads")
        check_params(layout, state1.shape[0], "state1 (velocity or Adam's m)")
        if solver not in (SOLVER_SGD, SOLVER_ADAM):
            raise ValueError(f"solver code {solver} is not one of {SOLVER_CODES}")
        if solver == SOLVER_ADAM:
            check_params(layout, state2.shape[0], "state2 (Adam's v)")
        if Y.ndim != 2 or not Y.flags.c_contiguous:
            raise ValueError("Y must be a C-contiguous 2-D array")
        if Y.shape[1] != layout.c.units[layout.c.n_layers - 1]:
            raise ValueError(f"Y has {Y.shape[1]} columns; this network has "
                             f"{layout.c.units[layout.c.n_layers - 1]} outputs")
        if self.is_double:
            self.n_samples = fill_source[double](&self.src, X, layout.c.units[0], NULL)
        else:
            self.n_samples = fill_source[float](&self.src, X, layout.c.units[0], NULL)
        check_rows(Y.shape[0], self.n_samples, "Y")
        check_workspace(layout, ws, dtype.itemsize, batch_size)
        if order is not None:
            order_view = order
            if order_view.shape[0] != self.n_samples:
                raise ValueError(f"order has {order_view.shape[0]} entries; it must be a "
                                 f"permutation of the {self.n_samples} samples")
            if self.src.dense != NULL and ws.c.xbuf == NULL:
                raise ValueError("shuffled dense input needs a workspace that gathers X")
            self.order = &order_view[0] if self.n_samples else NULL
        if sample_weight is not None:
            if sample_weight.dtype != dtype:
                raise ValueError(f"sample_weight must have the parameters' dtype {dtype}")
            check_rows(sample_weight.shape[0], self.n_samples, "sample_weight")
        if layout.n_running and (running is None or running.shape[0] != layout.n_running):
            raise ValueError("batch normalization needs its running statistics buffer")
        if adam_t.shape[0] != 1:
            raise ValueError("adam_t must hold exactly one step counter")
        self.params = writable_data(params, self.is_double)
        self.grads = writable_data(grads, self.is_double)
        self.state1 = writable_data(state1, self.is_double)
        self.state2 = writable_data(state2, self.is_double)
        self.running = writable_data(running, self.is_double) if layout.n_running else NULL
        self.Y = readonly_data(Y, self.is_double)
        self.sw = readonly_data(sample_weight, self.is_double)
        self.adam_t = &t_view[0]
        self.grad_norms = NULL
        if grad_norms is not None:
            norms_view = grad_norms
            if norms_view.shape[0] != layout.c.n_layers - 1:
                raise ValueError("grad_norms needs one entry per layer of weights")
            self.grad_norms = &norms_view[0]
        self.batch_size = batch_size
        self.solver = solver
        self.momentum = momentum
        self.nesterov = nesterov
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.alpha = alpha
        self.check_signals = threading.current_thread() is threading.main_thread()

    def run(self, double learning_rate):
        """Train one epoch; return (sum of batch loss * batch rows, n_batches)."""
        cdef double loss_sum = 0.0
        cdef Py_ssize_t n_batches = 0, bad
        if self.n_samples == 0:
            return loss_sum, n_batches
        if self.order != NULL:
            # the caller reshuffles order in place between epochs: O(n) recheck
            bad = first_out_of_range(self.order, self.n_samples, self.n_samples)
            if bad >= 0:
                raise ValueError(f"order[{bad}] = {self.order[bad]} is not a sample "
                                 f"index in [0, {self.n_samples})")
        with nogil:
            if self.is_double:
                epoch[double](
                    &self.layout.c, <double*> self.params, <double*> self.grads,
                    <double*> self.state1, <double*> self.state2,
                    self.layout.n_params, <double*> self.running, &self.src,
                    <const double*> self.Y, <const double*> self.sw, self.order,
                    self.n_samples, self.batch_size, &self.ws.c, self.solver,
                    learning_rate, self.momentum, self.nesterov, self.beta_1,
                    self.beta_2, self.epsilon, self.adam_t, self.alpha, &loss_sum,
                    self.grad_norms, &n_batches, self.check_signals)
            else:
                epoch[float](
                    &self.layout.c, <float*> self.params, <float*> self.grads,
                    <float*> self.state1, <float*> self.state2,
                    self.layout.n_params, <float*> self.running, &self.src,
                    <const float*> self.Y, <const float*> self.sw, self.order,
                    self.n_samples, self.batch_size, &self.ws.c, self.solver,
                    learning_rate, self.momentum, self.nesterov, self.beta_1,
                    self.beta_2, self.epsilon, self.adam_t, self.alpha, &loss_sum,
                    self.grad_norms, &n_batches, self.check_signals)
        return loss_sum, n_batches


def run_epoch(Layout layout, Workspace ws, params, grads, state1, state2, running, X,
              Y, sample_weight, order, Py_ssize_t batch_size, int solver,
              double learning_rate, double momentum, bint nesterov, double beta_1,
              double beta_2, double epsilon, adam_t, double alpha, grad_norms):
    """Train one epoch in place; return (sum of batch loss * batch rows, n_batches).

    The one-shot form of ``EpochRunner(...).run(learning_rate)``: ``order`` is
    the epoch's permutation of sample indices, or None for storage order;
    ``sample_weight`` may be None; ``running`` holds the batch-norm running
    statistics (empty without batch norm). ``adam_t`` (1 element) and
    ``grad_norms`` (one per layer, summed over batches) are updated in place,
    also when Ctrl-C interrupts the epoch; ``grad_norms`` None skips them.
    """
    return EpochRunner(layout, ws, params, grads, state1, state2, running, X, Y,
                       sample_weight, order, batch_size, solver, momentum, nesterov,
                       beta_1, beta_2, epsilon, adam_t, alpha, grad_norms
                       ).run(learning_rate)


def loss_and_gradient(Layout layout, Workspace ws, const floating[::1] params,
                      floating[::1] grads, X, const floating[:, ::1] Y,
                      const floating[::1] sample_weight, double alpha,
                      double delta_scale, double[::1] grad_norms,
                      floating[::1] running=None, double running_momentum=0.0):
    """Full-batch loss; writes the gradient into ``grads`` (L-BFGS's objective).

    ``delta_scale`` multiplies the output delta (1 / n_outputs makes the
    squared-error gradient match its loss, see the README). ``grad_norms`` is
    overwritten with each layer's weight-gradient norm. Batch norm uses the
    batch's statistics; ``running_momentum`` = 1 copies them into ``running``.
    """
    cdef Source src
    cdef Py_ssize_t n, i
    cdef double sw_sum, loss
    cdef const floating* sw = NULL
    cdef floating* run_ptr = running_pointer(layout, running)
    check_params(layout, params.shape[0], "params")
    check_params(layout, grads.shape[0], "grads")
    n = fill_source(&src, X, layout.c.units[0], &grads[0])
    check_workspace(layout, ws, sizeof(floating), n)
    check_rows(Y.shape[0], n, "Y")
    if Y.shape[1] != layout.c.units[layout.c.n_layers - 1]:
        raise ValueError(f"Y has {Y.shape[1]} columns; this network has "
                         f"{layout.c.units[layout.c.n_layers - 1]} outputs")
    if sample_weight is not None:
        check_rows(sample_weight.shape[0], n, "sample_weight")
        sw = &sample_weight[0]
    if grad_norms.shape[0] != layout.c.n_layers - 1:
        raise ValueError("grad_norms needs one entry per layer of weights")
    grad_norms[:] = 0.0
    with nogil:
        if sw == NULL:
            sw_sum = <double> n
        else:
            sw_sum = 0.0
            for i in range(n):
                sw_sum += sw[i]
        forward(&layout.c, &params[0], run_ptr, running_momentum, &src, NULL, 0, n,
                &ws.c, True)
        loss = backward(&layout.c, &params[0], &grads[0], &src, NULL, 0, n, &Y[0, 0], sw,
                        sw_sum, alpha, delta_scale, &ws.c, &grad_norms[0])
    return loss


def predict(Layout layout, const floating[::1] params, X,
            const floating[::1] running=None):
    """Output-layer values (probabilities or predictions) for X, in chunks of rows."""
    cdef Source src
    cdef WorkC ws
    cdef Py_ssize_t n_out = layout.c.units[layout.c.n_layers - 1]
    cdef Py_ssize_t start, nb, n_samples
    cdef floating* run_ptr = running_pointer(layout, running)
    check_params(layout, params.shape[0], "params")
    n_samples = fill_source(&src, X, layout.c.units[0], <floating*> NULL)
    dtype = np.float32 if floating is float else np.float64
    out_arr = np.empty((n_samples, n_out), dtype=dtype)
    if n_samples == 0:
        return out_arr
    cdef floating[:, ::1] out = out_arr
    memset(&ws, 0, sizeof(WorkC))
    ws.capacity = min(n_samples, PREDICT_CHUNK)
    ws.acts = malloc(checked_nbytes(ws.capacity * layout.c.width, sizeof(floating),
                                    "predict's scratch buffer"))
    if ws.acts == NULL:
        raise MemoryError()
    cdef floating* last = (<floating*> ws.acts) + ws.capacity * layout.c.cum[
        layout.c.n_layers - 1]
    try:
        with nogil:
            start = 0
            while start < n_samples:
                nb = min(ws.capacity, n_samples - start)
                forward(&layout.c, &params[0], run_ptr, 0.0, &src, NULL, start, nb, &ws,
                        False)
                memcpy(&out[start, 0], last, nb * n_out * sizeof(floating))
                start += nb
    finally:
        free(ws.acts)
    return out_arr


def forward_all(Layout layout, const floating[::1] params, X,
                const floating[::1] running=None):
    """Every layer's outputs for X (prediction mode): hidden layers, then output."""
    cdef Source src
    cdef WorkC ws
    cdef Py_ssize_t l, n_samples
    cdef floating* run_ptr = running_pointer(layout, running)
    check_params(layout, params.shape[0], "params")
    n_samples = fill_source(&src, X, layout.c.units[0], <floating*> NULL)
    # every row goes through one GEMM
    blas_int(n_samples, "the number of rows of X in hidden_activations")
    checked_nbytes(max(n_samples, 1) * layout.c.width, sizeof(floating),
                   "the layers' outputs")
    dtype = np.float32 if floating is float else np.float64
    acts_arr = np.empty(max(n_samples, 1) * layout.c.width, dtype=dtype)
    cdef floating[::1] acts = acts_arr
    memset(&ws, 0, sizeof(WorkC))
    ws.capacity = n_samples
    ws.acts = &acts[0]
    if n_samples > 0:
        with nogil:
            forward(&layout.c, &params[0], run_ptr, 0.0, &src, NULL, 0, n_samples, &ws,
                    False)
    layers = []
    for l in range(1, layout.c.n_layers):
        start = n_samples * layout.c.cum[l]
        layers.append(acts_arr[start:start + n_samples * layout.c.units[l]]
                      .reshape(n_samples, layout.c.units[l]))
    return layers
