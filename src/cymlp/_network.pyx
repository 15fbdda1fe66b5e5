"""The network's passes and its epoch loop, built once per SIMD level.

A hidden layer h computes, in training,
    z = in @ W + b -> [batch norm: zhat = (z - mean) / sqrt(var + eps),
    y = gamma zhat + beta] -> a = f(y) -> [dropout: a * keep]
and at prediction the same with running statistics and no dropout.
Dropout masks come from a splitmix64 stream seeded by the estimator.
Gradients use the flat parameter buffer's layout (``_layout.pyx``), so
optimizers and L-BFGS see plain vectors; batch-norm running means and
variances live in a separate buffer ``running`` (per layer: means, then
variances).

The four entry points run what ``_plans.pyx`` checked and bound once per fit
(``train_epoch``: one stochastic epoch of an ``EpochPlan``;
``loss_and_gradient``: one L-BFGS evaluation of a ``GradientPlan``) or check
their few arguments with ``_boundary``'s checks (``predict``,
``forward_all``); nothing below them checks again. An epoch gathers each
batch into the plan's workspace, runs the forward and backward passes and
one optimizer step, and allocates nothing. X is either a C-contiguous dense
array or CSR arrays ``(data, indices, indptr)``; only the first layer reads
it. Each entry point picks the float32 or float64 kernels once, from the
dtype its buffers were checked to share.

A plan made with ``n_threads`` (``n_jobs``) runs the data-parallel forms of
the epoch and of L-BFGS's evaluation instead: row blocks on OpenMP threads
(the section "Data-parallel batches" below); ``predict`` runs its chunks on
threads when asked to.
"""

import numpy as np

from cython cimport floating
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset
from libc.math cimport sqrt
from libc.stdint cimport uint64_t
from cpython.exc cimport PyErr_CheckSignals
from cython.parallel cimport parallel

from ._blas cimport gemm
from ._boundary cimport (Source, blas_int, check_blas_int, check_length, checked_nbytes,
                         fill_source, running_buffer)
from ._activations cimport (bias_activation, bias_activation_keeping, activation_derivative,
                            needs_input)
from ._losses cimport output_activation, loss_and_delta
from ._optimizers cimport StepRule, optimizer_step, begin_step, apply_step
from ._layer_extras cimport (batch_norm_forward, batch_norm_backward, dropout_forward,
                             column_totals, squared_deviations, finish_statistics, normalize,
                             batch_norm_sums, batch_norm_delta, skip_draws)
from ._rowops cimport gather_rows, column_sums, sum_of_squares
from ._layout cimport LayoutC, WorkC, Layout
from ._plans cimport DataC, EpochC, GradientC, EpochPlan, GradientPlan
from ._blocks cimport BlocksC, MAX_BLOCKS, blocks_of, block_row
from ._openmp cimport (thread_num, team_size, barrier, before_region, after_region,
                       region_starts, region_ends)

# Rows per chunk when predicting; both bound predict's scratch memory.
# PREDICT_CHUNK keeps a narrow network's layer outputs in L2 while the
# elementwise passes run over them (256 rows ran tabular 20-100-5 1.7x faster
# than one 10k-row chunk). A network whose BLAS layers take
# PREDICT_GEMM_FAN_IN or more multiply-adds per output value spends its time
# in GEMM, where every call costs something per chunk (OpenBLAS packs the
# weights again and wakes its threads): 256-row chunks made 784-512-256-10
# predict 2-7x slower than scikit-learn's one GEMM per layer on two threads
# of a loaded machine. Its chunks hold up to PREDICT_SCRATCH bytes of layer
# outputs instead, split evenly: up to 5391 float64 rows there, so that for
# the batch sizes of the asv suite predict makes scikit-learn's BLAS calls,
# one per layer (1000-row chunks ran up to 7 % faster on one thread, but
# slower than scikit-learn on two threads of a loaded machine).
cdef Py_ssize_t PREDICT_CHUNK = 256
cdef Py_ssize_t PREDICT_GEMM_FAN_IN = 256
cdef Py_ssize_t PREDICT_SCRATCH = 32 << 20


cdef struct Batch:
    # n rows of the training data, as the passes read them.
    const Source* src        # X
    const Py_ssize_t* rows   # X's row indices, or NULL: rows start .. start + n - 1
    Py_ssize_t start
    Py_ssize_t n
    const void* y            # (n, n_outputs) targets of these rows (training only)
    const void* sw           # (n,) their sample weights, or NULL
    double sw_sum            # their total weight (n without weights)


# --------------------------------------------------------------------------
# First layer: the only one that reads X (dense or CSR)
# --------------------------------------------------------------------------

cdef void input_product(const Batch* b, const floating* W, Py_ssize_t fan_out,
                        floating* out) noexcept nogil:
    """out (n, fan_out) = X[rows] @ W; dense sources must already be gathered."""
    cdef const Source* src = b.src
    cdef Py_ssize_t i, j, p, r, n = b.n
    cdef const floating* data
    cdef const floating* w_row
    cdef floating x
    cdef floating* o
    if src.dense != NULL:
        gemm(False, False, <blas_int> n, <blas_int> fan_out, <blas_int> src.n_features,
             <floating> 1, (<const floating*> src.dense) + b.start * src.n_features, W,
             <floating> 0, out)
        return
    data = <const floating*> src.data
    memset(out, 0, n * fan_out * sizeof(floating))
    for i in range(n):
        r = b.rows[i] if b.rows != NULL else b.start + i
        o = out + i * fan_out
        for p in range(src.indptr[r], src.indptr[r + 1]):
            x = data[p]
            w_row = W + src.indices[p] * fan_out
            for j in range(fan_out):
                o[j] = o[j] + x * w_row[j]


cdef void input_gradient(const Batch* b, const floating* delta, Py_ssize_t fan_out,
                         floating* grad) noexcept nogil:
    """grad (n_features, fan_out) = X[rows].T @ delta."""
    cdef const Source* src = b.src
    cdef Py_ssize_t i, j, p, r, n = b.n
    cdef const floating* data
    cdef const floating* d
    cdef floating x
    cdef floating* g
    if src.dense != NULL:
        gemm(True, False, <blas_int> src.n_features, <blas_int> fan_out, <blas_int> n,
             <floating> 1, (<const floating*> src.dense) + b.start * src.n_features, delta,
             <floating> 0, grad)
        return
    data = <const floating*> src.data
    memset(grad, 0, src.n_features * fan_out * sizeof(floating))
    for i in range(n):
        r = b.rows[i] if b.rows != NULL else b.start + i
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

cdef floating* layer_product(const LayoutC* L, const floating* params, const Batch* b,
                            WorkC* ws, Py_ssize_t l, bint training) noexcept nogil:
    """z = (what layer l feeds forward) @ W_l into layer l + 1's buffer; the
    output layer also gets its bias and output activation. Returns z."""
    cdef Py_ssize_t h = l + 1, cap = ws.capacity
    cdef floating* acts = <floating*> ws.acts
    cdef floating* out = acts + cap * L.cum[h]
    if l == 0:
        input_product(b, params + L.coef_off[0], L.units[h], out)
    else:
        gemm(False, False, <blas_int> b.n, <blas_int> L.units[h], <blas_int> L.units[l],
             <floating> 1, layer_output(L, acts, ws.dropped, l, cap, training),
             params + L.coef_off[l], <floating> 0, out)
    if h == L.n_layers - 1:
        output_activation(L.head, out, params + L.bias_off[l], b.n, L.units[h])
    return out


cdef void hidden_output(const LayoutC* L, const floating* params, Py_ssize_t n, WorkC* ws,
                        Py_ssize_t h, const floating* bias, bint training,
                        uint64_t* rng) noexcept nogil:
    """Hidden layer h's activations of its (normalized) z, in place, with
    ``bias`` added first unless NULL; in training, what the backward pass
    keeps and the dropout masks (drawn from ``rng``)."""
    cdef Py_ssize_t cap = ws.capacity, fan_out = L.units[h]
    cdef floating* out = (<floating*> ws.acts) + cap * L.cum[h]
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
                        L.drop[h], rng)


cdef void forward(const LayoutC* L, const floating* params, floating* running,
                  double momentum, const Batch* b, WorkC* ws, bint training) noexcept nogil:
    """Every layer's activations for the batch's rows; the last layer is the output.

    Training keeps what the backward pass needs (``ws.inputs``, filled by
    bias_activation_keeping; zhat and the batch statistics; dropout masks)
    and moves the batch-norm ``running`` statistics by ``momentum``;
    prediction reads and writes ``ws.acts`` only (batch norm then uses
    ``running``).
    """
    cdef Py_ssize_t l, h, cap = ws.capacity
    cdef floating* out
    cdef const floating* bias
    for l in range(L.n_layers - 1):
        h = l + 1
        out = layer_product(L, params, b, ws, l, training)
        if h == L.n_layers - 1:
            break
        bias = params + L.bias_off[l]
        if L.gamma_off[h] >= 0:
            batch_norm_forward(
                out, bias, b.n, L.units[h], params + L.gamma_off[h], params + L.beta_off[h],
                (<floating*> ws.normed) + cap * L.cum[h] if training else NULL,
                (<floating*> ws.stats) + 2 * L.cum[h] if training else NULL,
                running + L.run_off[h], momentum, training)
            bias = NULL
        hidden_output(L, params, b.n, ws, h, bias, training, &ws.rng)


cdef void layer_gradient(const LayoutC* L, const floating* params, floating* grads,
                         const Batch* b, WorkC* ws, Py_ssize_t l) noexcept nogil:
    """Layer l's weight and bias gradients as raw sums over the rows (not yet
    regularized or divided by the batch's weight): W_l's = input.T @ delta,
    b_l's = column sums of delta."""
    cdef Py_ssize_t cap = ws.capacity, fan_out = L.units[l + 1]
    cdef floating* delta = (<floating*> ws.deltas) + cap * L.cum[l + 1]
    if l == 0:
        input_gradient(b, delta, fan_out, grads + L.coef_off[0])
    else:
        gemm(True, False, <blas_int> L.units[l], <blas_int> fan_out, <blas_int> b.n,
             <floating> 1, layer_output(L, <floating*> ws.acts, ws.dropped, l, cap, True),
             delta, <floating> 0, grads + L.coef_off[l])
    column_sums(delta, b.n, fan_out, grads + L.bias_off[l])


cdef floating* delta_below(const LayoutC* L, const floating* params, floating* grads,
                           const Batch* b, WorkC* ws, Py_ssize_t l) noexcept nogil:
    """Hidden layer l's delta from the delta above it: back through W_l,
    dropout and the activation (batch norm, if any, is left to the caller).
    The PReLU slopes' gradient goes into ``grads`` as raw sums. Returns the
    delta (w.r.t. the batch-normalized z with batch norm)."""
    cdef Py_ssize_t cap = ws.capacity, n = b.n, i, j
    cdef Py_ssize_t fan_in = L.units[l], fan_out = L.units[l + 1], size = n * fan_in
    cdef floating* below = (<floating*> ws.deltas) + cap * L.cum[l]
    cdef const floating* keep
    cdef const floating* y_in = NULL
    cdef floating* gs
    gemm(False, True, <blas_int> n, <blas_int> fan_in, <blas_int> fan_out, <floating> 1,
         (<floating*> ws.deltas) + cap * L.cum[l + 1], params + L.coef_off[l], <floating> 0,
         below)
    if L.drop[l] > 0:
        keep = (<floating*> ws.keep) + cap * L.cum[l]
        for i in range(size):
            below[i] = below[i] * keep[i]
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
    activation_derivative(L.act[l], (<floating*> ws.acts) + cap * L.cum[l], y_in, below, n,
                          fan_in, L.negative_slope, param_or_null(params, L.slope_off[l]))
    return below


cdef inline void divide(floating* values, Py_ssize_t size, double sw_sum) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(size):
        values[i] = values[i] / <floating> sw_sum


cdef double backward(const LayoutC* L, const floating* params, floating* grads,
                     const Batch* b, double alpha, double delta_scale, WorkC* ws,
                     double* grad_norms) noexcept nogil:
    """Gradients of the loss over the batch after a training ``forward``; returns
    the loss.

    loss = (sum_i w_i l_i + alpha / 2 * ||W||^2) / sw_sum, and every gradient
    is divided by sw_sum, as in scikit-learn. ``grad_norms[l]`` (IN/OUT) gets
    the L2 norm of layer l's weight gradient added to it (skipped if NULL).
    """
    cdef Py_ssize_t last = L.n_layers - 2, cap = ws.capacity
    cdef double sw_sum = b.sw_sum
    cdef Py_ssize_t l, i, fan_in
    cdef Py_ssize_t size
    cdef const floating* W
    cdef floating* gW
    cdef floating* below
    cdef double data_loss, w_sq = 0.0
    cdef floating alpha_f = <floating> alpha

    data_loss = loss_and_delta(L.head, L.quantile,
                               (<floating*> ws.acts) + cap * L.cum[last + 1],
                               <const floating*> b.y, <const floating*> b.sw, b.n,
                               L.units[last + 1], delta_scale,
                               (<floating*> ws.deltas) + cap * L.cum[last + 1])
    for l in range(last, -1, -1):
        fan_in = L.units[l]
        size = fan_in * L.units[l + 1]
        W = params + L.coef_off[l]
        gW = grads + L.coef_off[l]
        layer_gradient(L, params, grads, b, ws, l)
        # gW = (in.T delta + alpha W) / sw_sum, in scikit-learn's order
        for i in range(size):
            gW[i] = (gW[i] + alpha_f * W[i]) / <floating> sw_sum
        w_sq += sum_of_squares(W, size)
        if grad_norms != NULL:
            grad_norms[l] += sqrt(sum_of_squares(gW, size))
        divide(grads + L.bias_off[l], L.units[l + 1], sw_sum)
        if l == 0:
            break
        # Hidden layer l: delta w.r.t. its output, then back through dropout,
        # the activation and batch norm to its pre-activation z.
        below = delta_below(L, params, grads, b, ws, l)
        if L.slope_off[l] >= 0:
            divide(grads + L.slope_off[l], fan_in, sw_sum)
        if L.gamma_off[l] >= 0:
            batch_norm_backward(below, (<floating*> ws.normed) + cap * L.cum[l],
                                (<floating*> ws.stats) + 2 * L.cum[l],
                                params + L.gamma_off[l], b.n, fan_in,
                                grads + L.gamma_off[l], grads + L.beta_off[l], sw_sum)
    return (data_loss + 0.5 * alpha * w_sq) / sw_sum


# --------------------------------------------------------------------------
# The epoch loop
# --------------------------------------------------------------------------

cdef int epoch(EpochC* e, floating* params, double learning_rate, double* loss_sum,
               Py_ssize_t* n_batches) except -1 nogil:
    """One pass over the samples in ``e.order`` (or in storage order if NULL).

    For each batch: gather rows into the workspace, forward, backward, one
    optimizer step on ``params`` (``e.params``, typed). With
    ``e.check_signals`` (the main thread: only it receives Ctrl-C) it checks
    for signals after every batch, so an interrupt leaves the weights of the
    last finished step; other threads never take the GIL inside the loop.
    """
    cdef const LayoutC* L = e.layout
    cdef WorkC* ws = e.ws
    cdef Py_ssize_t n_out = L.units[L.n_layers - 1]
    cdef Py_ssize_t nf = L.units[0]
    cdef Py_ssize_t n_samples = e.data.n_samples
    cdef Py_ssize_t i, start = 0
    cdef Source gathered = e.data.src
    cdef const floating* Y = <const floating*> e.data.Y
    cdef const floating* sw = <const floating*> e.data.sw
    cdef floating* grads = <floating*> e.grads
    cdef floating* ybuf = <floating*> ws.ybuf
    cdef floating* swbuf = <floating*> ws.swbuf
    cdef const floating* swb
    cdef double batch_loss
    cdef Batch b
    b.src = &e.data.src
    while start < n_samples:
        b.n = min(e.batch_size, n_samples - start)
        b.rows = NULL
        b.start = start
        b.y = Y + start * n_out
        b.sw = NULL                 # (not a NULL-if-else: see param_or_null)
        if sw != NULL:
            b.sw = sw + start
        if e.order != NULL:
            b.rows = e.order + start
            b.start = 0
            gather_rows(Y, b.rows, b.n, n_out, ybuf)
            b.y = ybuf
            if sw != NULL:
                for i in range(b.n):
                    swbuf[i] = sw[b.rows[i]]
                b.sw = swbuf
            if gathered.dense != NULL:
                # the batch's dense rows, gathered: the first layer reads them from row 0
                gather_rows(<const floating*> e.data.src.dense, b.rows, b.n, nf,
                            <floating*> ws.xbuf)
                gathered.dense = ws.xbuf
                b.src = &gathered
        start += b.n
        swb = <const floating*> b.sw
        if swb == NULL:
            b.sw_sum = <double> b.n
        else:
            b.sw_sum = 0.0
            for i in range(b.n):
                b.sw_sum += swb[i]
            if b.sw_sum == 0:
                continue    # a batch of zero total weight carries no gradient: no step
        forward(L, params, <floating*> e.running, 0.1, &b, ws, True)
        batch_loss = backward(L, params, grads, &b, e.alpha, 1.0, ws, e.grad_norms)
        loss_sum[0] += batch_loss * b.n
        n_batches[0] += 1
        optimizer_step(&e.rule, params, grads, e.n_params, learning_rate)
        if e.check_signals:
            with gil:
                PyErr_CheckSignals()
    return 0


# --------------------------------------------------------------------------
# Data-parallel batches: row blocks on OpenMP threads (n_jobs)
# --------------------------------------------------------------------------
#
# A batch is cut into row blocks (``_blocks``: the cut depends on the batch
# size and the network, never on the number of threads). Inside one parallel
# region per batch, each thread runs the forward and backward passes of its
# blocks (a contiguous share of them), each block into its own workspace and
# raw gradient; batch norm's batch statistics and its backward sums are added
# over the blocks in block order, between barriers. After a last barrier each
# thread takes a share of the parameter chunks: it adds the blocks' gradients
# in block order, finishes them (L2 term, division by the batch's weight),
# sums their squares and applies the optimizer step. Every value is computed in an order that does
# not depend on T, so every thread count gives the same bits; they differ
# from the whole-batch path above only in the order of those sums. Dropout
# masks are the whole-batch path's: each block starts its draws where that
# path's stream reaches its first row.

cdef struct Blocked:
    # One batch of the data-parallel path: what every thread reads.
    const LayoutC* L
    BlocksC* bc
    const DataC* data        # X, targets and sample weights of every sample
    const Py_ssize_t* rows   # the batch's sample indices, or NULL: start .. start + n - 1
    Py_ssize_t start
    Py_ssize_t n
    double sw_sum            # the batch's total weight
    void* running            # batch-norm running statistics (moved when momentum > 0)
    double momentum
    double alpha
    double delta_scale
    StepRule* rule           # the optimizer step after the gradient, or NULL (L-BFGS)
    double step              # its step size (``begin_step``)
    uint64_t rng             # the dropout stream at the batch's first draw


cdef void block_batch(const Blocked* r, const floating* params, Py_ssize_t k, Py_ssize_t kn,
                      Batch* b, Source* gathered) noexcept nogil:
    """Block k of kn as a Batch; a shuffled batch's rows are gathered into the
    block's workspace. (``params`` only picks the dtype.)"""
    cdef const LayoutC* L = r.L
    cdef WorkC* ws = r.bc.ws[k]
    cdef const DataC* d = r.data
    cdef Py_ssize_t r0 = block_row(r.n, k, kn), i
    cdef Py_ssize_t n_out = L.units[L.n_layers - 1]
    b.n = block_row(r.n, k + 1, kn) - r0
    b.sw_sum = r.sw_sum
    b.src = &d.src
    if r.rows == NULL:
        b.rows = NULL
        b.start = r.start + r0
        b.y = (<const floating*> d.Y) + b.start * n_out
        b.sw = NULL                 # (not a NULL-if-else: see param_or_null)
        if d.sw != NULL:
            b.sw = (<const floating*> d.sw) + b.start
        return
    b.rows = r.rows + r0
    b.start = 0
    gather_rows(<const floating*> d.Y, b.rows, b.n, n_out, <floating*> ws.ybuf)
    b.y = ws.ybuf
    b.sw = NULL
    if d.sw != NULL:
        for i in range(b.n):
            (<floating*> ws.swbuf)[i] = (<const floating*> d.sw)[b.rows[i]]
        b.sw = ws.swbuf
    if d.src.dense != NULL:
        gathered[0] = d.src
        gather_rows(<const floating*> d.src.dense, b.rows, b.n, L.units[0],
                    <floating*> ws.xbuf)
        gathered.dense = ws.xbuf
        b.src = gathered


cdef inline void add_blocks(const floating* base, Py_ssize_t stride, Py_ssize_t kn,
                            Py_ssize_t m, floating* out) noexcept nogil:
    """out[j] = sum over blocks k < kn of base[k * stride + j], in block order."""
    cdef Py_ssize_t j, k
    for j in range(m):
        out[j] = base[j]
    for k in range(1, kn):
        for j in range(m):
            out[j] = out[j] + base[k * stride + j]


cdef inline void add_block_grads(void** grads, Py_ssize_t kn, Py_ssize_t offset, Py_ssize_t m,
                                 floating* out) noexcept nogil:
    """out[j] = sum over blocks k < kn of their gradient at offset + j, in block order."""
    cdef Py_ssize_t j, k
    cdef const floating* g = (<const floating*> grads[0]) + offset
    for j in range(m):
        out[j] = g[j]
    for k in range(1, kn):
        g = (<const floating*> grads[k]) + offset
        for j in range(m):
            out[j] = out[j] + g[j]


cdef void batch_norm_blocks(const Blocked* r, const floating* params, Py_ssize_t k0,
                            Py_ssize_t k1, Py_ssize_t kn, const Batch* bs,
                            Py_ssize_t h) noexcept nogil:
    """Batch norm of hidden layer h over the whole batch, each block normalizing
    its own rows: column totals per block, then the mean (blocks added in
    order), squared deviations per block, then 1 / std; block 0 moves the
    running statistics."""
    cdef const LayoutC* L = r.L
    cdef const BlocksC* bc = r.bc
    cdef Py_ssize_t m = L.units[h], stride = 2 * L.width, off = 2 * L.cum[h], k, j
    cdef floating* part = <floating*> bc.partial
    cdef WorkC* ws
    cdef floating* z
    cdef floating* stats
    for k in range(k0, k1):
        ws = bc.ws[k]
        column_totals((<floating*> ws.acts) + ws.capacity * L.cum[h], params + L.bias_off[h - 1],
                      bs[k].n, m, part + k * stride + off)
    barrier()
    for k in range(k0, k1):
        ws = bc.ws[k]
        stats = (<floating*> ws.stats) + off
        add_blocks(part + off, stride, kn, m, stats)
        for j in range(m):
            stats[j] = stats[j] / r.n
        squared_deviations((<floating*> ws.acts) + ws.capacity * L.cum[h], stats, bs[k].n, m,
                           part + k * stride + off + m)
    barrier()
    for k in range(k0, k1):
        ws = bc.ws[k]
        z = (<floating*> ws.acts) + ws.capacity * L.cum[h]
        stats = (<floating*> ws.stats) + off
        add_blocks(part + off + m, stride, kn, m, stats + m)
        finish_statistics(stats, stats + m, r.n, m,
                          (<floating*> r.running) + L.run_off[h] if k == 0 else NULL,
                          r.momentum)
        normalize(z, (<floating*> ws.normed) + ws.capacity * L.cum[h], stats, stats + m,
                  params + L.gamma_off[h], params + L.beta_off[h], bs[k].n, m)


cdef void forward_blocks(const Blocked* r, const floating* params, Py_ssize_t k0,
                         Py_ssize_t k1, Py_ssize_t kn, const Batch* bs) noexcept nogil:
    """The training forward pass of this thread's blocks (k0 to k1 - 1 of kn),
    layer by layer."""
    cdef const LayoutC* L = r.L
    cdef const BlocksC* bc = r.bc
    cdef Py_ssize_t l, h, k
    cdef uint64_t drawn = 0, rng
    cdef const floating* bias
    for l in range(L.n_layers - 1):
        h = l + 1
        for k in range(k0, k1):
            layer_product(L, params, &bs[k], bc.ws[k], l, True)
        if h == L.n_layers - 1:
            break
        bias = params + L.bias_off[l]
        if L.gamma_off[h] >= 0:
            batch_norm_blocks(r, params, k0, k1, kn, bs, h)
            bias = NULL
        for k in range(k0, k1):
            # the whole-batch path's draws for this block's first row on
            rng = skip_draws(r.rng, drawn + <uint64_t> (block_row(r.n, k, kn) * L.units[h]))
            hidden_output(L, params, bs[k].n, bc.ws[k], h, bias, True, &rng)
        if L.drop[h] > 0:
            drawn += <uint64_t> (r.n * L.units[h])


cdef void backward_blocks(const Blocked* r, const floating* params, Py_ssize_t k0,
                          Py_ssize_t k1, Py_ssize_t kn, const Batch* bs) noexcept nogil:
    """The backward pass of this thread's blocks, layer by layer: each block's
    data loss, and raw gradient sums into its own gradient buffer."""
    cdef const LayoutC* L = r.L
    cdef BlocksC* bc = r.bc
    cdef Py_ssize_t last = L.n_layers - 2, l, k, m, off
    cdef Py_ssize_t stride = 2 * L.width
    cdef floating* part = <floating*> bc.partial
    cdef floating* g
    cdef floating* below
    cdef WorkC* ws
    for k in range(k0, k1):
        ws = bc.ws[k]
        bc.loss[k] = loss_and_delta(
            L.head, L.quantile, (<floating*> ws.acts) + ws.capacity * L.cum[last + 1],
            <const floating*> bs[k].y, <const floating*> bs[k].sw, bs[k].n,
            L.units[last + 1], r.delta_scale,
            (<floating*> ws.deltas) + ws.capacity * L.cum[last + 1])
    for l in range(last, -1, -1):
        for k in range(k0, k1):
            layer_gradient(L, params, <floating*> bc.grads[k], &bs[k], bc.ws[k], l)
        if l == 0:
            break
        for k in range(k0, k1):
            delta_below(L, params, <floating*> bc.grads[k], &bs[k], bc.ws[k], l)
        if L.gamma_off[l] < 0:
            continue
        m = L.units[l]
        off = 2 * L.cum[l]
        for k in range(k0, k1):
            ws = bc.ws[k]
            g = <floating*> bc.grads[k]
            batch_norm_sums((<floating*> ws.deltas) + ws.capacity * L.cum[l],
                            (<floating*> ws.normed) + ws.capacity * L.cum[l], bs[k].n, m,
                            g + L.gamma_off[l], g + L.beta_off[l])
        barrier()
        for k in range(k0, k1):
            ws = bc.ws[k]
            add_block_grads(bc.grads, kn, L.gamma_off[l], m, part + k * stride + off)
            add_block_grads(bc.grads, kn, L.beta_off[l], m, part + k * stride + off + m)
            batch_norm_delta((<floating*> ws.deltas) + ws.capacity * L.cum[l],
                             (<floating*> ws.normed) + ws.capacity * L.cum[l],
                             (<floating*> ws.stats) + off + m, params + L.gamma_off[l],
                             bs[k].n, m, part + k * stride + off,
                             part + k * stride + off + m, r.n)


cdef inline Py_ssize_t first_chunk(const BlocksC* bc, Py_ssize_t tid,
                                   Py_ssize_t nt) noexcept nogil:
    """The first chunk of thread ``tid`` of ``nt``: the chunks are shared out by
    their sizes (a layer's last chunk and the biases' are short), the first
    one starting at or after tid / nt of the parameters."""
    cdef Py_ssize_t c = 0
    cdef Py_ssize_t target = tid * bc.chunk_start[bc.n_chunks] // nt
    while c < bc.n_chunks and bc.chunk_start[c] < target:
        c += 1
    return c


cdef void reduce_chunks(const Blocked* r, floating* params, int tid, int nt,
                        Py_ssize_t kn) noexcept nogil:
    """This thread's share of the parameter chunks: the blocks' gradients added
    in block order into block 0's, finished as the whole-batch path finishes
    them, their sums of squares, and the optimizer step (if any)."""
    cdef const BlocksC* bc = r.bc
    cdef Py_ssize_t n_chunks = bc.n_chunks, n_coef_chunks = bc.layer_chunks[r.L.n_layers - 1]
    cdef Py_ssize_t c, i, k, start, stop
    cdef floating* g = <floating*> bc.grads[0]
    cdef const floating* gk
    cdef floating alpha_f = <floating> r.alpha
    for c in range(first_chunk(bc, tid, nt), first_chunk(bc, tid + 1, nt)):
        start = bc.chunk_start[c]
        stop = bc.chunk_start[c + 1]
        for k in range(1, kn):
            gk = <const floating*> bc.grads[k]
            for i in range(start, stop):
                g[i] = g[i] + gk[i]
        if c < n_coef_chunks:
            for i in range(start, stop):
                g[i] = (g[i] + alpha_f * params[i]) / <floating> r.sw_sum
            bc.chunk_wsq[c] = sum_of_squares(params + start, stop - start)
            bc.chunk_gsq[c] = sum_of_squares(g + start, stop - start)
        else:
            divide(g + start, stop - start, r.sw_sum)
        if r.rule != NULL:
            apply_step(r.rule, params, g, start, stop, r.step)


cdef void block_thread(const Blocked* r, floating* params, Py_ssize_t kn, int tid,
                       int nt) noexcept nogil:
    """Thread ``tid``'s part of a batch in a team of ``nt`` (any team size: one
    thread does it all)."""
    cdef Batch bs[MAX_BLOCKS]
    cdef Source gathered[MAX_BLOCKS]
    cdef Py_ssize_t k, k0 = tid * kn // nt, k1 = (tid + 1) * kn // nt
    region_starts()     # before reading anything the starting thread wrote
    for k in range(k0, k1):
        block_batch(r, params, k, kn, &bs[k], &gathered[k])
    forward_blocks(r, params, k0, k1, kn, bs)
    backward_blocks(r, params, k0, k1, kn, bs)
    barrier()
    reduce_chunks(r, params, tid, nt, kn)
    region_ends()


cdef double blocked_batch(const Blocked* r, floating* params,
                          double* grad_norms) noexcept nogil:
    """One batch on the blocks: its gradient into block 0's buffer (and the
    step, with a rule); returns the loss. ``grad_norms[l]`` (IN/OUT, or
    NULL) gets layer l's weight-gradient norm added."""
    cdef const LayoutC* L = r.L
    cdef const BlocksC* bc = r.bc
    cdef Py_ssize_t kn = blocks_of(r.bc, r.n), k, l, c
    cdef double data_loss = 0.0, w_sq = 0.0, layer_wsq, layer_gsq
    if bc.n_threads == 1:
        block_thread(r, params, kn, 0, 1)     # the same work, without starting a region
    else:
        before_region()
        with parallel(num_threads=bc.n_threads):
            block_thread(r, params, kn, thread_num(), team_size())
        after_region()
    for k in range(kn):
        data_loss += bc.loss[k]
    for l in range(L.n_layers - 2, -1, -1):
        layer_wsq = 0.0
        layer_gsq = 0.0
        for c in range(bc.layer_chunks[l], bc.layer_chunks[l + 1]):
            layer_wsq += bc.chunk_wsq[c]
            layer_gsq += bc.chunk_gsq[c]
        w_sq += layer_wsq
        if grad_norms != NULL:
            grad_norms[l] += sqrt(layer_gsq)
    return (data_loss + 0.5 * r.alpha * w_sq) / r.sw_sum


cdef uint64_t dropout_draws(const LayoutC* L, Py_ssize_t n) noexcept nogil:
    """Dropout draws of one training forward pass over n rows."""
    cdef uint64_t drawn = 0
    cdef Py_ssize_t h
    for h in range(1, L.n_layers - 1):
        if L.drop[h] > 0:
            drawn += <uint64_t> (n * L.units[h])
    return drawn


cdef int blocked_epoch(EpochC* e, floating* params, double learning_rate, double* loss_sum,
                       Py_ssize_t* n_batches) except -1 nogil:
    """``epoch`` on the blocks: the same batches, steps, skipped zero-weight
    batches and signal checks."""
    cdef Blocked r
    cdef Py_ssize_t i, start = 0, n_samples = e.data.n_samples
    cdef const floating* sw = <const floating*> e.data.sw
    cdef double batch_loss
    r.L = e.layout
    r.bc = e.blocks
    r.data = &e.data
    r.running = e.running
    r.momentum = 0.1
    r.alpha = e.alpha
    r.delta_scale = 1.0
    r.rule = &e.rule
    while start < n_samples:
        r.n = min(e.batch_size, n_samples - start)
        r.start = start
        r.rows = NULL
        if e.order != NULL:
            r.rows = e.order + start
        r.sw_sum = <double> r.n
        if sw != NULL:
            r.sw_sum = 0.0
            for i in range(r.n):
                r.sw_sum += sw[r.rows[i] if r.rows != NULL else start + i]
        start += r.n
        if r.sw_sum == 0:
            continue    # a batch of zero total weight carries no gradient: no step
        r.step = begin_step(&e.rule, learning_rate)
        r.rng = e.blocks.rng
        batch_loss = blocked_batch(&r, params, e.grad_norms)
        e.blocks.rng = skip_draws(e.blocks.rng, dropout_draws(e.layout, r.n))
        loss_sum[0] += batch_loss * r.n
        n_batches[0] += 1
        if e.check_signals:
            with gil:
                PyErr_CheckSignals()
    return 0


cdef double blocked_loss_and_gradient(GradientC* g, floating* params, floating* grads,
                                      double running_momentum) noexcept nogil:
    """L-BFGS's full-batch loss and gradient on the blocks."""
    cdef Blocked r
    cdef double loss
    r.L = g.layout
    r.bc = g.blocks
    r.data = &g.data
    r.rows = NULL
    r.start = 0
    r.n = g.data.n_samples
    r.sw_sum = g.sw_sum
    r.running = g.running
    r.momentum = running_momentum
    r.alpha = g.alpha
    r.delta_scale = g.delta_scale
    r.rule = NULL
    r.step = 0.0
    r.rng = g.blocks.rng
    g.blocks.grads[0] = grads
    loss = blocked_batch(&r, params, g.grad_norms)
    g.blocks.rng = skip_draws(g.blocks.rng, dropout_draws(r.L, r.n))
    return loss


# --------------------------------------------------------------------------
# Python entry points: each runs what was checked, choosing the dtype once
# --------------------------------------------------------------------------

def train_epoch(EpochPlan plan, double learning_rate):
    """Train one epoch of ``plan`` in place; return (sum of batch loss * batch
    rows, number of batches that stepped).

    The optimizer's state, the step counter and the gradient norms are
    updated in place, also when Ctrl-C interrupts the epoch.
    """
    cdef double loss_sum = 0.0
    cdef Py_ssize_t n_batches = 0
    cdef EpochC* e = &plan.c
    if e.data.n_samples == 0:
        return loss_sum, n_batches
    plan.check_order()
    with nogil:
        if e.blocks != NULL and e.itemsize == sizeof(double):
            blocked_epoch(e, <double*> e.params, learning_rate, &loss_sum, &n_batches)
        elif e.blocks != NULL:
            blocked_epoch(e, <float*> e.params, learning_rate, &loss_sum, &n_batches)
        elif e.itemsize == sizeof(double):
            epoch(e, <double*> e.params, learning_rate, &loss_sum, &n_batches)
        else:
            epoch(e, <float*> e.params, learning_rate, &loss_sum, &n_batches)
    return loss_sum, n_batches


def loss_and_gradient(GradientPlan plan, const floating[::1] params, floating[::1] grads,
                      double running_momentum=0.0):
    """Full-batch loss at ``params``; writes the gradient into ``grads``
    (L-BFGS's objective, without packing copies: both are flat buffers).

    The plan's ``grad_norms`` are overwritten with each layer's weight-gradient
    norm. Batch norm uses the batch's statistics; ``running_momentum`` = 1
    copies them into the plan's running statistics.
    """
    cdef Batch b
    cdef double loss
    plan.check_params(params.shape[0], sizeof(floating), "params")
    plan.check_params(grads.shape[0], sizeof(floating), "grads")
    memset(plan.c.grad_norms, 0, (plan.layout.c.n_layers - 1) * sizeof(double))
    if plan.c.blocks != NULL:
        with nogil:
            loss = blocked_loss_and_gradient(&plan.c, <floating*> &params[0], &grads[0],
                                             running_momentum)
        return loss
    b.src = &plan.c.data.src
    b.rows = NULL
    b.start = 0
    b.n = plan.c.data.n_samples
    b.y = plan.c.data.Y
    b.sw = plan.c.data.sw
    b.sw_sum = plan.c.sw_sum
    with nogil:
        forward(plan.c.layout, &params[0], <floating*> plan.c.running, running_momentum,
                &b, plan.c.ws, True)
        loss = backward(plan.c.layout, &params[0], &grads[0], &b, plan.c.alpha,
                        plan.c.delta_scale, plan.c.ws, plan.c.grad_norms)
    return loss


cdef void predict_chunks(const LayoutC* L, const floating* params, floating* running,
                         const Source* src, Py_ssize_t n_samples, Py_ssize_t chunk,
                         floating* scratch, floating* out, int tid, int nt) noexcept nogil:
    """Thread ``tid``'s share (of a team of ``nt``) of predict's chunks of
    ``chunk`` rows, in its own ``scratch`` of chunk x width values."""
    cdef Py_ssize_t n_out, c, n_chunks = (n_samples + chunk - 1) // chunk
    cdef WorkC ws
    cdef Batch b
    region_starts()     # before reading anything the starting thread wrote
    n_out = L.units[L.n_layers - 1]
    memset(&ws, 0, sizeof(WorkC))
    ws.capacity = chunk
    ws.acts = scratch + tid * chunk * L.width
    b.src = src
    b.rows = NULL
    for c in range(tid * n_chunks // nt, (tid + 1) * n_chunks // nt):
        b.start = c * chunk
        b.n = min(chunk, n_samples - b.start)
        forward(L, params, running, 0.0, &b, &ws, False)
        memcpy(out + b.start * n_out, (<floating*> ws.acts) + chunk * L.cum[L.n_layers - 1],
               b.n * n_out * sizeof(floating))
    region_ends()


def predict(Layout layout, const floating[::1] params, X, running=None, int n_threads=0):
    """Output-layer values (probabilities or predictions) for X, in chunks of
    rows; with ``n_threads`` > 0, the chunks run on that many threads (the
    same chunks, so the same values)."""
    cdef Source src
    cdef Py_ssize_t n_out = layout.c.units[layout.c.n_layers - 1]
    cdef Py_ssize_t n_samples, l, n_chunks, chunk, rows
    cdef Py_ssize_t gemm_macs = 0      # multiply-adds per row in BLAS (CSR's first layer is not)
    cdef int n_teams
    cdef floating* run_ptr = <floating*> running_buffer(running, layout.n_running,
                                                        sizeof(floating), False)
    check_length(params.shape[0], layout.n_params, "params", "parameters")
    n_samples = fill_source(&src, X, layout.c.units[0], sizeof(floating))
    dtype = np.float32 if floating is float else np.float64
    out_arr = np.empty((n_samples, n_out), dtype=dtype)
    if n_samples == 0:
        return out_arr
    cdef floating[:, ::1] out = out_arr
    # the chunks depend on X and the network only, never on n_threads
    for l in range(0 if src.indptr == NULL else 1, layout.c.n_layers - 1):
        gemm_macs += layout.c.units[l] * layout.c.units[l + 1]
    chunk = min(n_samples, PREDICT_CHUNK)
    if gemm_macs >= PREDICT_GEMM_FAN_IN * layout.c.width:
        rows = max(PREDICT_CHUNK,
                   PREDICT_SCRATCH // (layout.c.width * <Py_ssize_t> sizeof(floating)))
        n_chunks = (n_samples + rows - 1) // rows
        chunk = (n_samples + n_chunks - 1) // n_chunks
    n_teams = <int> min(max(n_threads, 1), (n_samples + chunk - 1) // chunk)
    cdef floating* scratch = <floating*> malloc(checked_nbytes(
        n_teams * chunk * layout.c.width, sizeof(floating), "predict's scratch buffer"))
    if scratch == NULL:
        raise MemoryError()
    try:
        with nogil:
            if n_threads <= 0:
                predict_chunks(&layout.c, &params[0], run_ptr, &src, n_samples, chunk,
                               scratch, &out[0, 0], 0, 1)
            else:
                before_region()
                with parallel(num_threads=n_teams):
                    predict_chunks(&layout.c, &params[0], run_ptr, &src, n_samples, chunk,
                                   scratch, &out[0, 0], thread_num(), team_size())
                after_region()
    finally:
        free(scratch)
    return out_arr


def forward_all(Layout layout, const floating[::1] params, X, running=None):
    """Every layer's outputs for X (prediction mode): hidden layers, then output."""
    cdef Source src
    cdef Batch b
    cdef WorkC ws
    cdef Py_ssize_t l, n_samples
    cdef floating* run_ptr = <floating*> running_buffer(running, layout.n_running,
                                                        sizeof(floating), False)
    check_length(params.shape[0], layout.n_params, "params", "parameters")
    n_samples = fill_source(&src, X, layout.c.units[0], sizeof(floating))
    # every row goes through one GEMM
    check_blas_int(n_samples, "the number of rows of X in hidden_activations")
    checked_nbytes(max(n_samples, 1) * layout.c.width, sizeof(floating),
                   "the layers' outputs")
    dtype = np.float32 if floating is float else np.float64
    acts_arr = np.empty(max(n_samples, 1) * layout.c.width, dtype=dtype)
    cdef floating[::1] acts = acts_arr
    memset(&ws, 0, sizeof(WorkC))
    ws.capacity = n_samples
    ws.acts = &acts[0]
    b.src = &src
    b.rows = NULL
    b.start = 0
    b.n = n_samples
    if n_samples > 0:
        with nogil:
            forward(&layout.c, &params[0], run_ptr, 0.0, &b, &ws, False)
    layers = []
    for l in range(1, layout.c.n_layers):
        start = n_samples * layout.c.cum[l]
        layers.append(acts_arr[start:start + n_samples * layout.c.units[l]]
                      .reshape(n_samples, layout.c.units[l]))
    return layers
