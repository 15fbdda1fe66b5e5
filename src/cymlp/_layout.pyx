"""The network's shape and one fit's scratch buffers.

``Layout`` is the layer table of one network: units, activation and extras
of every hidden layer, output head, and where each layer's weights, biases,
PReLU slopes and batch-norm scale and shift sit in the ONE flat parameter
buffer (scikit-learn's ``_pack`` order: every weight matrix, row-major
(fan_in, fan_out), then every bias, then the extras). ``views`` turns that
buffer into ``coefs_`` and ``intercepts_`` without copying.

``Workspace`` holds one fit's scratch memory, allocated once for a capacity
of rows (the batch size, or every sample for L-BFGS): layer l's buffers
start at ``capacity * cum[l]``, where ``cum[l]`` is the number of units in
the layers before l, input excluded.

Both check their sizes before allocating (with ``_boundary``'s checks):
every dimension that reaches BLAS (units, rows) must fit ``blas_int``, and no
buffer's byte size may overflow.
"""

import numpy as np

from libc.stdlib cimport malloc, calloc, free
from libc.string cimport memset
from libc.stdint cimport uint64_t

from ._boundary cimport check_blas_int, checked_nbytes
from ._activations cimport needs_input, ACT_PRELU
from ._activations import ACTIVATION_CODES
from ._losses cimport head_code
from ._losses import HEAD_CODES

HEAD_NAMES = {code: name for name, code in HEAD_CODES.items()}

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


cdef class Layout:
    """Shape of one network: units, activations, extras, output head, offsets.

    Immutable after construction, so fitted estimators can share it between
    threads.
    """

    def __cinit__(self, units, activations, str head, double negative_slope=0.01,
                  dropout=None, batch_norm=None, double quantile=0.5):
        units = [int(u) for u in units]
        cdef Py_ssize_t L = len(units), l
        if L < 2:
            raise ValueError("a network needs an input and an output layer")
        for l in range(L):
            if units[l] < 1:
                raise ValueError(f"layer {l} has {units[l]} units; every layer needs >= 1")
            check_blas_int(units[l], f"layer {l}'s number of units")
        # every offset below is at most this many values (weights, biases,
        # PReLU slopes, batch-norm scale and shift), so none can overflow
        checked_nbytes(sum(a * b for a, b in zip(units, units[1:])) + 4 * sum(units[1:]),
                       sizeof(double), "the parameter buffer")
        n_hidden = L - 2
        dropout = [0.0] * n_hidden if dropout is None else list(dropout)
        batch_norm = [False] * n_hidden if batch_norm is None else list(batch_norm)
        if (len(activations) != n_hidden or len(dropout) != n_hidden
                or len(batch_norm) != n_hidden):
            raise ValueError("activations, dropout and batch_norm need one entry "
                             f"for each of the {n_hidden} hidden layers")
        self.c.n_layers = L
        self.c.units = <Py_ssize_t*> calloc(L, sizeof(Py_ssize_t))
        self.c.cum = <Py_ssize_t*> calloc(L, sizeof(Py_ssize_t))
        self.c.coef_off = <Py_ssize_t*> calloc(L, sizeof(Py_ssize_t))
        self.c.bias_off = <Py_ssize_t*> calloc(L, sizeof(Py_ssize_t))
        self.c.act = <int*> calloc(L, sizeof(int))
        self.c.drop = <double*> calloc(L, sizeof(double))
        self.c.slope_off = <Py_ssize_t*> calloc(L, sizeof(Py_ssize_t))
        self.c.gamma_off = <Py_ssize_t*> calloc(L, sizeof(Py_ssize_t))
        self.c.beta_off = <Py_ssize_t*> calloc(L, sizeof(Py_ssize_t))
        self.c.run_off = <Py_ssize_t*> calloc(L, sizeof(Py_ssize_t))
        if (self.c.units == NULL or self.c.cum == NULL or self.c.coef_off == NULL
                or self.c.bias_off == NULL or self.c.act == NULL or self.c.drop == NULL
                or self.c.slope_off == NULL or self.c.gamma_off == NULL
                or self.c.beta_off == NULL or self.c.run_off == NULL):
            raise MemoryError()
        self.c.head = head_code(head, quantile)
        self.c.quantile = quantile if head == "quantile" else 0.5
        self.c.negative_slope = negative_slope
        cdef Py_ssize_t offset = 0, total = 0
        for l in range(L):
            self.c.units[l] = units[l]
            self.c.cum[l] = total
            self.c.slope_off[l] = -1
            self.c.gamma_off[l] = -1
            self.c.beta_off[l] = -1
            self.c.run_off[l] = -1
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
        for l in range(1, L - 1):
            self.c.act[l] = ACTIVATION_CODES[activations[l - 1]]
            self.c.drop[l] = float(dropout[l - 1])
            if not 0.0 <= self.c.drop[l] < 1.0:
                raise ValueError("dropout rates must be in [0, 1)")
            self.c.any_input = self.c.any_input or needs_input(self.c.act[l])
            self.c.any_dropout = self.c.any_dropout or self.c.drop[l] > 0
            if self.c.act[l] == ACT_PRELU:
                self.c.slope_off[l] = offset
                offset += units[l]
        for l in range(1, L - 1):
            if batch_norm[l - 1]:
                self.c.any_batch_norm = True
                self.c.gamma_off[l] = offset
                offset += units[l]
        for l in range(1, L - 1):
            if batch_norm[l - 1]:
                self.c.beta_off[l] = offset
                offset += units[l]
        self.n_params = offset
        total = 0
        for l in range(1, L - 1):
            if batch_norm[l - 1]:
                self.c.run_off[l] = total
                total += 2 * units[l]
        self.n_running = total

    def __dealloc__(self):
        free(self.c.units)
        free(self.c.cum)
        free(self.c.coef_off)
        free(self.c.bias_off)
        free(self.c.act)
        free(self.c.drop)
        free(self.c.slope_off)
        free(self.c.gamma_off)
        free(self.c.beta_off)
        free(self.c.run_off)

    @property
    def has_dropout(self):
        return bool(self.c.any_dropout)

    @property
    def head(self):
        """The output head's name (a key of ``_losses.HEAD_CODES``)."""
        return HEAD_NAMES[self.c.head]

    @property
    def quantile(self):
        """The quantile of the 'quantile' head (0.5 for the other heads)."""
        return self.c.quantile

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

    def extra_views(self, params):
        """(prelu_slopes, bn_scale, bn_shift): per hidden layer, a view or None."""
        cdef Py_ssize_t l
        slopes, gammas, betas = [], [], []
        for l in range(1, self.c.n_layers - 1):
            n = self.c.units[l]
            for start, out in ((self.c.slope_off[l], slopes), (self.c.gamma_off[l], gammas),
                               (self.c.beta_off[l], betas)):
                out.append(None if start < 0 else params[start:start + n])
        return slopes, gammas, betas

    def running_views(self, running):
        """(running_means, running_vars): per hidden layer, a view or None."""
        cdef Py_ssize_t l
        means, variances = [], []
        for l in range(1, self.c.n_layers - 1):
            start = self.c.run_off[l]
            n = self.c.units[l]
            means.append(None if start < 0 else running[start:start + n])
            variances.append(None if start < 0 else running[start + n:start + 2 * n])
        return means, variances

    def init_extras(self, params, running):
        """PReLU slopes 0.25, batch-norm scale 1 and shift 0, running var 1."""
        slopes, gammas, betas = self.extra_views(params)
        for values, fill in ((slopes, 0.25), (gammas, 1.0), (betas, 0.0)):
            for v in values:
                if v is not None:
                    v[:] = fill
        means, variances = self.running_views(running)
        for m, v in zip(means, variances):
            if m is not None:
                m[:] = 0.0
                v[:] = 1.0


cdef class Workspace:
    """Scratch buffers of one fit: activations, deltas and gathered batch rows."""

    def __cinit__(self, Layout layout, capacity, dtype, bint gather_x):
        memset(&self.c, 0, sizeof(WorkC))
        if np.dtype(dtype) not in FLOAT_DTYPES:
            raise ValueError(f"a Workspace holds float32 or float64, not {np.dtype(dtype)}")
        self.itemsize = np.dtype(dtype).itemsize
        self.layout = layout
        # the batch's rows are a GEMM dimension
        check_blas_int(capacity, "the workspace capacity (rows per batch, or all rows for L-BFGS)")
        cdef Py_ssize_t rows = max(capacity, 1)
        cdef Py_ssize_t n_out = layout.c.units[layout.c.n_layers - 1]
        cdef Py_ssize_t block = checked_nbytes(rows * layout.c.width, self.itemsize,
                                               "a workspace buffer (rows x units)")
        cdef Py_ssize_t xbytes = checked_nbytes(rows * layout.c.units[0], self.itemsize,
                                                "the workspace's gathered rows of X")
        self.c.capacity = capacity
        self.c.acts = malloc(block)
        self.c.deltas = malloc(block)
        self.c.ybuf = malloc(rows * n_out * self.itemsize)     # <= block
        self.c.swbuf = malloc(rows * self.itemsize)            # <= block
        ok = (self.c.acts != NULL and self.c.deltas != NULL and self.c.ybuf != NULL
              and self.c.swbuf != NULL)
        if gather_x:
            self.c.xbuf = malloc(xbytes)
            ok = ok and self.c.xbuf != NULL
        if layout.c.any_input:
            self.c.inputs = malloc(block)
            ok = ok and self.c.inputs != NULL
        if layout.c.any_batch_norm:
            self.c.normed = malloc(block)
            self.c.stats = malloc(2 * layout.c.width * self.itemsize)
            ok = ok and self.c.normed != NULL and self.c.stats != NULL
        if layout.c.any_dropout:
            self.c.keep = malloc(block)
            self.c.dropped = malloc(block)
            ok = ok and self.c.keep != NULL and self.c.dropped != NULL
        if not ok:
            raise MemoryError("cannot allocate the training workspace")

    @property
    def capacity(self):
        return self.c.capacity

    def seed(self, seed):
        """Seed the dropout mask stream."""
        self.c.rng = <uint64_t> (int(seed) & 0xFFFFFFFFFFFFFFFF)

    def __dealloc__(self):
        free(self.c.acts)
        free(self.c.deltas)
        free(self.c.inputs)
        free(self.c.normed)
        free(self.c.keep)
        free(self.c.dropped)
        free(self.c.stats)
        free(self.c.xbuf)
        free(self.c.ybuf)
        free(self.c.swbuf)
