"""The network: layer table, forward and backward passes, and the epoch loop.

All weights and biases live in ONE flat buffer ``params`` laid out as
scikit-learn's ``_pack`` lays them out: every layer's weight matrix
(row-major, shape (fan_in, fan_out)) in order, then every layer's bias.
Gradients use the same layout, so optimizers and L-BFGS see plain vectors.

Workspaces (``Workspace``) are allocated once per fit for a capacity of
rows (the batch size, or every sample for L-BFGS): layer l's activations
and deltas start at ``capacity * cum[l]``, where ``cum[l]`` is the number of
units in the layers before l, not counting the input. Nothing is allocated
inside ``run_epoch``.

Input X is either a C-contiguous dense array or CSR arrays
``(data, indices, indptr)``; only the first layer reads it.
"""

import numpy as np

from cython cimport floating
from libc.stdlib cimport malloc, calloc, free
from libc.string cimport memcpy, memset
from libc.math cimport sqrt, pow
from cpython.exc cimport PyErr_CheckSignals

from ._blas cimport gemm
from ._activations cimport bias_activation, activation_derivative
from ._activations import ACTIVATION_CODES
from ._losses cimport output_activation, loss_and_delta
from ._losses import HEAD_CODES
from ._optimizers cimport sgd_step, adam_step

cdef enum:
    SOLVER_SGD = 0
    SOLVER_ADAM = 1

SOLVER_CODES = {"sgd": SOLVER_SGD, "adam": SOLVER_ADAM}

# Rows per chunk when predicting: bounds the scratch memory of predict.
cdef Py_ssize_t PREDICT_CHUNK = 1024


cdef struct LayoutC:
    Py_ssize_t n_layers      # input + hidden + output
    Py_ssize_t* units        # [n_layers]
    Py_ssize_t* cum          # [n_layers] units before layer l, input excluded
    Py_ssize_t* coef_off     # [n_layers - 1] start of W_l in params
    Py_ssize_t* bias_off     # [n_layers - 1] start of b_l in params
    int* act                 # [n_layers] activation code of hidden layer l
    int head                 # output activation + loss, see _losses
    Py_ssize_t width         # sum of units[1:]


cdef struct WorkC:
    void* acts               # [capacity * width] layer outputs
    void* deltas             # [capacity * width] loss gradients w.r.t. pre-activations
    void* xbuf               # [capacity * n_features] gathered dense rows, or NULL
    void* ybuf               # [capacity * n_outputs] gathered targets
    void* swbuf              # [capacity] gathered sample weights
    Py_ssize_t capacity


cdef struct Source:
    # Where the first layer reads X: dense rows, or CSR rows.
    const void* dense        # (n_samples, n_features) row-major, or NULL
    const void* data         # CSR values, or NULL
    const int* indices
    const int* indptr
    Py_ssize_t n_features


cdef class Layout:
    """Shape of one network: units per layer, activations, output head, offsets.

    Immutable after construction, so fitted estimators can share it between
    threads.
    """
    cdef LayoutC c
    cdef readonly Py_ssize_t n_params
    cdef readonly Py_ssize_t n_coef

    def __cinit__(self, units, activations, str head):
        units = [int(u) for u in units]
        cdef Py_ssize_t L = len(units), l
        if L < 2:
            raise ValueError("a network needs an input and an output layer")
        if len(activations) != L - 2:
            raise ValueError(
                f"{len(activations)} activations given for {L - 2} hidden layers")
        self.c.n_layers = L
        self.c.units = <Py_ssize_t*> calloc(L, sizeof(Py_ssize_t))
        self.c.cum = <Py_ssize_t*> calloc(L, sizeof(Py_ssize_t))
        self.c.coef_off = <Py_ssize_t*> calloc(L, sizeof(Py_ssize_t))
        self.c.bias_off = <Py_ssize_t*> calloc(L, sizeof(Py_ssize_t))
        self.c.act = <int*> calloc(L, sizeof(int))
        if (self.c.units == NULL or self.c.cum == NULL or self.c.coef_off == NULL
                or self.c.bias_off == NULL or self.c.act == NULL):
            raise MemoryError()
        self.c.head = HEAD_CODES[head]
        cdef Py_ssize_t offset = 0, total = 0
        for l in range(L):
            self.c.units[l] = units[l]
            self.c.cum[l] = total
            if l > 0:
                total += units[l]
        self.c.width = total
        for l in range(L - 1):
            self.c.coef_off[l] = offset
            offset += units[l] * units[l + 1]
        self.n_coef = offset
        for l in range(L - 1):
            self.c.bias_off[l] = offset
            offset += units[l + 1]
        self.n_params = offset
        for l in range(1, L - 1):
            self.c.act[l] = ACTIVATION_CODES[activations[l - 1]]

    def __dealloc__(self):
        free(self.c.units)
        free(self.c.cum)
        free(self.c.coef_off)
        free(self.c.bias_off)
        free(self.c.act)

    def views(self, params):
        """(coefs, intercepts): lists of views of the flat buffer ``params``."""
        cdef Py_ssize_t l
        coefs, intercepts = [], []
        for l in range(self.c.n_layers - 1):
            start = self.c.coef_off[l]
            stop = start + self.c.units[l] * self.c.units[l + 1]
            coefs.append(params[start:stop].reshape(self.c.units[l], self.c.units[l + 1]))
            start = self.c.bias_off[l]
            intercepts.append(params[start:start + self.c.units[l + 1]])
        return coefs, intercepts


cdef class Workspace:
    """Scratch buffers of one fit: activations, deltas and gathered batch rows."""
    cdef WorkC c
    cdef readonly Py_ssize_t itemsize

    def __cinit__(self, Layout layout, Py_ssize_t capacity, dtype, bint gather_x):
        self.itemsize = np.dtype(dtype).itemsize
        cdef Py_ssize_t rows = max(capacity, 1)
        cdef Py_ssize_t n_out = layout.c.units[layout.c.n_layers - 1]
        self.c.capacity = capacity
        self.c.acts = malloc(rows * layout.c.width * self.itemsize)
        self.c.deltas = malloc(rows * layout.c.width * self.itemsize)
        self.c.ybuf = malloc(rows * n_out * self.itemsize)
        self.c.swbuf = malloc(rows * self.itemsize)
        self.c.xbuf = NULL
        if gather_x:
            self.c.xbuf = malloc(rows * layout.c.units[0] * self.itemsize)
        if (self.c.acts == NULL or self.c.deltas == NULL or self.c.ybuf == NULL
                or self.c.swbuf == NULL or (gather_x and self.c.xbuf == NULL)):
            raise MemoryError("cannot allocate the training workspace")

    @property
    def capacity(self):
        return self.c.capacity

    def __dealloc__(self):
        free(self.c.acts)
        free(self.c.deltas)
        free(self.c.xbuf)
        free(self.c.ybuf)
        free(self.c.swbuf)


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


# --------------------------------------------------------------------------
# Forward and backward passes over n rows
# --------------------------------------------------------------------------

cdef void forward(const LayoutC* L, const floating* params, const Source* src,
                  const Py_ssize_t* rows, Py_ssize_t start, Py_ssize_t n,
                  floating* acts, Py_ssize_t cap) noexcept nogil:
    """Fill every layer's activations for n rows; the last layer is the output."""
    cdef Py_ssize_t l, fan_in, fan_out
    cdef floating* out
    for l in range(L.n_layers - 1):
        fan_in = L.units[l]
        fan_out = L.units[l + 1]
        out = acts + cap * L.cum[l + 1]
        if l == 0:
            input_product(src, rows, start, n, params + L.coef_off[0], fan_out, out)
        else:
            gemm(False, False, <int> n, <int> fan_out, <int> fan_in, <floating> 1,
                 acts + cap * L.cum[l], <int> fan_in, params + L.coef_off[l],
                 <int> fan_out, <floating> 0, out, <int> fan_out)
        if l < L.n_layers - 2:
            bias_activation(L.act[l + 1], out, params + L.bias_off[l], n, fan_out)
        else:
            output_activation(L.head, out, params + L.bias_off[l], n, fan_out)


cdef double backward(const LayoutC* L, const floating* params, floating* grads,
                     const Source* src, const Py_ssize_t* rows, Py_ssize_t start,
                     Py_ssize_t n, const floating* y, const floating* sw, double sw_sum,
                     double alpha, double delta_scale, floating* acts, floating* deltas,
                     Py_ssize_t cap, double* grad_norms) noexcept nogil:
    """Gradients of the loss over n rows after ``forward``; returns the loss.

    loss = (sum_i w_i l_i + alpha / 2 * ||W||^2) / sw_sum, and every gradient
    is divided by sw_sum, as in scikit-learn. ``grad_norms[l]`` (IN/OUT) gets
    the L2 norm of layer l's weight gradient added to it.
    """
    cdef Py_ssize_t last = L.n_layers - 2
    cdef Py_ssize_t l, i, j, fan_in, fan_out, size
    cdef const floating* W
    cdef floating* gW
    cdef floating* gb
    cdef floating* delta
    cdef const floating* d_row
    cdef double data_loss, w_sq = 0.0, g_sq, g, w
    cdef floating alpha_f = <floating> alpha

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
                 acts + cap * L.cum[l], <int> fan_in, delta, <int> fan_out,
                 <floating> 0, gW, <int> fan_out)
        # gW = (X.T delta + alpha W) / sw_sum, in scikit-learn's order
        g_sq = 0.0
        for i in range(size):
            w = W[i]
            w_sq += w * w
            gW[i] = (gW[i] + alpha_f * W[i]) / <floating> sw_sum
            g = gW[i]
            g_sq += g * g
        grad_norms[l] += sqrt(g_sq)
        # gb = sum over rows of delta / sw_sum
        memset(gb, 0, fan_out * sizeof(floating))
        for i in range(n):
            d_row = delta + i * fan_out
            for j in range(fan_out):
                gb[j] = gb[j] + d_row[j]
        for j in range(fan_out):
            gb[j] = gb[j] / <floating> sw_sum
        if l > 0:
            # delta_{l-1} = delta_l @ W_l.T, times f'(z) of hidden layer l
            gemm(False, True, <int> n, <int> fan_in, <int> fan_out, <floating> 1,
                 delta, <int> fan_out, W, <int> fan_out, <floating> 0,
                 deltas + cap * L.cum[l], <int> fan_in)
            activation_derivative(L.act[l], acts + cap * L.cum[l],
                                  deltas + cap * L.cum[l], n * fan_in)
    return (data_loss + 0.5 * alpha * w_sq) / sw_sum


# --------------------------------------------------------------------------
# The epoch loop
# --------------------------------------------------------------------------

cdef int epoch(const LayoutC* L, floating* params, floating* grads, floating* state1,
               floating* state2, Py_ssize_t n_params, const Source* src,
               const floating* Y, const floating* sw, const Py_ssize_t* order,
               Py_ssize_t n_samples, Py_ssize_t batch_size, const WorkC* ws,
               int solver, double learning_rate, double momentum, bint nesterov,
               double beta_1, double beta_2, double epsilon, long long* adam_t,
               double alpha, double* loss_sum, double* grad_norms,
               Py_ssize_t* n_batches) except -1 nogil:
    """One pass over the samples in ``order`` (or in storage order if NULL).

    For each batch: gather rows into the workspace, forward, backward, one
    optimizer step on the flat buffer. Checks for Ctrl-C after every batch,
    so an interrupt leaves the weights of the last finished step.
    """
    cdef Py_ssize_t n_out = L.units[L.n_layers - 1]
    cdef Py_ssize_t nf = L.units[0]
    cdef Py_ssize_t cap = ws.capacity
    cdef floating* acts = <floating*> ws.acts
    cdef floating* deltas = <floating*> ws.deltas
    cdef Py_ssize_t start, nb, i, r
    cdef Source batch_src = src[0]
    cdef const Py_ssize_t* rows
    cdef const floating* yb
    cdef const floating* swb
    cdef floating* xbuf = <floating*> ws.xbuf
    cdef floating* ybuf = <floating*> ws.ybuf
    cdef floating* swbuf = <floating*> ws.swbuf
    cdef double sw_sum, batch_loss, step
    cdef Py_ssize_t row_start

    start = 0
    while start < n_samples:
        nb = min(batch_size, n_samples - start)
        rows = NULL
        row_start = start
        yb = Y + start * n_out
        swb = NULL if sw == NULL else sw + start
        if order != NULL:
            rows = order + start
            row_start = 0
            for i in range(nb):
                r = rows[i]
                memcpy(ybuf + i * n_out, Y + r * n_out, n_out * sizeof(floating))
            yb = ybuf
            if sw != NULL:
                for i in range(nb):
                    swbuf[i] = sw[rows[i]]
                swb = swbuf
            if src.dense != NULL:
                for i in range(nb):
                    memcpy(xbuf + i * nf, (<const floating*> src.dense) + rows[i] * nf,
                           nf * sizeof(floating))
                batch_src.dense = xbuf
        if swb == NULL:
            sw_sum = <double> nb
        else:
            sw_sum = 0.0
            for i in range(nb):
                sw_sum += swb[i]
        forward(L, params, &batch_src, rows, row_start, nb, acts, cap)
        batch_loss = backward(L, params, grads, &batch_src, rows, row_start, nb, yb, swb,
                              sw_sum, alpha, 1.0, acts, deltas, cap, grad_norms)
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
        with gil:
            PyErr_CheckSignals()
    return 0



cdef int fill_source(Source* src, object X, floating* dtype_tag) except -1:
    """Point ``src`` at X: a C-contiguous 2-D array or a (data, indices, indptr) tuple."""
    cdef const floating[:, ::1] dense
    cdef const floating[::1] data
    cdef const int[::1] indices, indptr
    src.dense = NULL
    src.data = NULL
    src.indices = NULL
    src.indptr = NULL
    if isinstance(X, tuple):
        data, indices, indptr = X[0], X[1], X[2]
        if data.shape[0] > 0:
            src.data = &data[0]
            src.indices = &indices[0]
        src.indptr = &indptr[0]
    else:
        dense = X
        if dense.shape[0] > 0:
            src.dense = &dense[0, 0]
    return 0


def run_epoch(Layout layout, Workspace ws, floating[::1] params, floating[::1] grads,
              floating[::1] state1, floating[::1] state2, X, const floating[:, ::1] Y,
              const floating[::1] sample_weight, const Py_ssize_t[::1] order,
              Py_ssize_t batch_size, int solver, double learning_rate, double momentum,
              bint nesterov, double beta_1, double beta_2, double epsilon,
              long long[::1] adam_t, double alpha, double[::1] grad_norms):
    """Train one epoch in place; return (sum of batch loss * batch rows, n_batches).

    ``order`` is the epoch's permutation of sample indices, or None for
    storage order; ``sample_weight`` may be None. ``adam_t`` (1 element) and
    ``grad_norms`` (one per layer, summed over batches) are updated in place,
    also when Ctrl-C interrupts the epoch.
    """
    cdef Source src
    cdef Py_ssize_t n_samples = Y.shape[0]
    cdef double loss_sum = 0.0
    cdef Py_ssize_t n_batches = 0
    cdef const floating* sw = NULL
    cdef const Py_ssize_t* order_ptr = NULL
    cdef floating* state2_ptr = NULL
    fill_source(&src, X, &params[0])
    src.n_features = layout.c.units[0]
    if params.shape[0] != layout.n_params or grads.shape[0] != layout.n_params:
        raise ValueError("parameter buffers do not match the layout")
    if batch_size < 1 or batch_size > ws.c.capacity:
        raise ValueError("batch_size exceeds the workspace capacity")
    if src.dense != NULL and order is not None and ws.c.xbuf == NULL:
        raise ValueError("shuffled dense input needs a workspace that gathers X")
    if sample_weight is not None:
        sw = &sample_weight[0]
    if order is not None:
        order_ptr = &order[0]
    if state2.shape[0] > 0:
        state2_ptr = &state2[0]
    if n_samples == 0:
        return loss_sum, n_batches
    with nogil:
        epoch(&layout.c, &params[0], &grads[0], &state1[0], state2_ptr,
              layout.n_params, &src, &Y[0, 0], sw, order_ptr, n_samples, batch_size,
              &ws.c, solver, learning_rate, momentum, nesterov, beta_1, beta_2, epsilon,
              &adam_t[0], alpha, &loss_sum, &grad_norms[0], &n_batches)
    return loss_sum, n_batches


def loss_and_gradient(Layout layout, Workspace ws, const floating[::1] params,
                      floating[::1] grads, X, const floating[:, ::1] Y,
                      const floating[::1] sample_weight, double alpha,
                      double delta_scale, double[::1] grad_norms):
    """Full-batch loss; writes the gradient into ``grads`` (L-BFGS's objective).

    ``delta_scale`` multiplies the output delta (1 / n_outputs makes the
    squared-error gradient match its loss, see the README).
    ``grad_norms`` is overwritten with each layer's weight-gradient norm.
    """
    cdef Source src
    cdef Py_ssize_t n = Y.shape[0], i
    cdef double sw_sum, loss
    cdef const floating* sw = NULL
    fill_source(&src, X, &grads[0])
    src.n_features = layout.c.units[0]
    if params.shape[0] != layout.n_params or grads.shape[0] != layout.n_params:
        raise ValueError("parameter buffers do not match the layout")
    if n > ws.c.capacity:
        raise ValueError("more rows than the workspace capacity")
    if sample_weight is not None:
        sw = &sample_weight[0]
    grad_norms[:] = 0.0
    with nogil:
        if sw == NULL:
            sw_sum = <double> n
        else:
            sw_sum = 0.0
            for i in range(n):
                sw_sum += sw[i]
        forward(&layout.c, &params[0], &src, NULL, 0, n, <floating*> ws.c.acts, n)
        loss = backward(&layout.c, &params[0], &grads[0], &src, NULL, 0, n, &Y[0, 0], sw,
                        sw_sum, alpha, delta_scale, <floating*> ws.c.acts,
                        <floating*> ws.c.deltas, n, &grad_norms[0])
    return loss


def predict(Layout layout, const floating[::1] params, X, Py_ssize_t n_samples):
    """Output-layer values (probabilities or predictions) for X, in chunks of rows."""
    cdef Source src
    cdef Py_ssize_t n_out = layout.c.units[layout.c.n_layers - 1]
    cdef Py_ssize_t cap = min(n_samples, PREDICT_CHUNK), start, nb
    dtype = np.float32 if floating is float else np.float64
    out_arr = np.empty((n_samples, n_out), dtype=dtype)
    if n_samples == 0:
        return out_arr
    cdef floating[:, ::1] out = out_arr
    fill_source(&src, X, &out[0, 0])
    src.n_features = layout.c.units[0]
    cdef floating* acts = <floating*> malloc(cap * layout.c.width * sizeof(floating))
    if acts == NULL:
        raise MemoryError()
    cdef floating* last = acts + cap * layout.c.cum[layout.c.n_layers - 1]
    try:
        with nogil:
            start = 0
            while start < n_samples:
                nb = min(cap, n_samples - start)
                forward(&layout.c, &params[0], &src, NULL, start, nb, acts, cap)
                memcpy(&out[start, 0], last, nb * n_out * sizeof(floating))
                start += nb
    finally:
        free(acts)
    return out_arr


def forward_all(Layout layout, const floating[::1] params, X, Py_ssize_t n_samples):
    """Every layer's outputs for X: a list of arrays, hidden layers then output."""
    cdef Source src
    cdef Py_ssize_t l
    dtype = np.float32 if floating is float else np.float64
    acts_arr = np.empty(max(n_samples, 1) * layout.c.width, dtype=dtype)
    cdef floating[::1] acts = acts_arr
    fill_source(&src, X, &acts[0])
    src.n_features = layout.c.units[0]
    if n_samples > 0:
        with nogil:
            forward(&layout.c, &params[0], &src, NULL, 0, n_samples, &acts[0], n_samples)
    layers = []
    for l in range(1, layout.c.n_layers):
        start = n_samples * layout.c.cum[l]
        layers.append(acts_arr[start:start + n_samples * layout.c.units[l]]
                      .reshape(n_samples, layout.c.units[l]))
    return layers
