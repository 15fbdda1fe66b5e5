"""Output layers: output activation, loss and the delta at the output.

Each head pairs an output activation with its canonical loss, so the
gradient of the loss with respect to the output pre-activation is always
``p - y`` (times the sample weight), as in scikit-learn:

==================  ============  =====================================
head                activation    per-sample loss l_i
==================  ============  =====================================
squared error       identity      0.5 / k * sum_j (y_ij - p_ij)^2
binary log-loss     logistic      -sum_j y log p + (1 - y) log(1 - p)
softmax log-loss    softmax       -sum_j y log p
Poisson             exp           sum_j y log(y / p) - y + p
==================  ============  =====================================

Probabilities are clipped to [eps, 1 - eps] (eps of the dtype) inside the
log-losses only. ``loss_and_delta`` returns ``sum_i w_i l_i``; the caller
divides by the sum of weights.
"""

from libc.math cimport exp, expf, log, fmax, fmin
from libc.float cimport DBL_EPSILON, FLT_EPSILON

from ._activations cimport bias_activation, ACT_IDENTITY, ACT_LOGISTIC

HEAD_CODES = {
    "squared_error": HEAD_SQUARED_ERROR,
    "binary_log_loss": HEAD_BINARY_LOG,
    "log_loss": HEAD_SOFTMAX_LOG,
    "poisson": HEAD_POISSON,
}
OUT_ACTIVATION = {
    HEAD_SQUARED_ERROR: "identity",
    HEAD_BINARY_LOG: "logistic",
    HEAD_SOFTMAX_LOG: "softmax",
    HEAD_POISSON: "exp",
}


cdef inline double xlogy(double x, double y) noexcept nogil:
    """x * log(y), and 0 where x == 0 (scipy.special.xlogy)."""
    if x == 0:
        return 0.0
    return x * log(y)


cdef void output_activation(int head, floating* z, const floating* bias,
                            Py_ssize_t n_rows, Py_ssize_t n_cols) noexcept nogil:
    """z = out(z + bias) in place, row by row."""
    cdef Py_ssize_t i, j
    cdef floating* row
    cdef floating top, total
    if head == HEAD_SQUARED_ERROR:
        bias_activation(ACT_IDENTITY, z, bias, n_rows, n_cols, 0.0, <const floating*> NULL)
    elif head == HEAD_BINARY_LOG:
        bias_activation(ACT_LOGISTIC, z, bias, n_rows, n_cols, 0.0, <const floating*> NULL)
    elif head == HEAD_POISSON:
        for i in range(n_rows * n_cols):
            if floating is float:
                z[i] = expf(z[i] + bias[i % n_cols])
            else:
                z[i] = exp(z[i] + bias[i % n_cols])
    elif head == HEAD_SOFTMAX_LOG:
        # softmax(v) = exp(v - max v) / sum exp(v - max v)
        for i in range(n_rows):
            row = z + i * n_cols
            for j in range(n_cols):
                row[j] = row[j] + bias[j]
            top = row[0]
            for j in range(1, n_cols):
                if row[j] > top or row[j] != row[j]:
                    top = row[j]
            for j in range(n_cols):
                if floating is float:
                    row[j] = expf(row[j] - top)
                else:
                    row[j] = exp(row[j] - top)
            total = 0
            for j in range(n_cols):
                total = total + row[j]
            for j in range(n_cols):
                row[j] = row[j] / total


cdef double loss_and_delta(int head, const floating* p, const floating* y,
                           const floating* sw, Py_ssize_t n_rows, Py_ssize_t n_cols,
                           double delta_scale, floating* delta) noexcept nogil:
    """Return sum_i w_i l_i and write delta = (p - y) * w_i * delta_scale.

    sw may be NULL (all weights 1). p, y, delta: (n_rows, n_cols) row-major.
    """
    cdef Py_ssize_t i, j, at
    cdef double total = 0.0, row_loss, w, pc, yv
    cdef double eps = FLT_EPSILON if floating is float else DBL_EPSILON
    cdef floating lo = <floating> eps
    cdef floating hi = 1 - <floating> eps
    cdef floating pf
    for i in range(n_rows):
        w = 1.0 if sw == NULL else sw[i]
        row_loss = 0.0
        for j in range(n_cols):
            at = i * n_cols + j
            yv = y[at]
            if head == HEAD_SQUARED_ERROR:
                row_loss += (yv - p[at]) * (yv - p[at])
            elif head == HEAD_BINARY_LOG or head == HEAD_SOFTMAX_LOG:
                pf = p[at]
                pf = lo if pf < lo else (hi if pf > hi else pf)
                pc = pf
                row_loss -= xlogy(yv, pc)
                if head == HEAD_BINARY_LOG:
                    row_loss -= xlogy(1.0 - yv, 1.0 - pc)
            else:  # HEAD_POISSON
                row_loss += xlogy(yv, yv / p[at]) - yv + p[at]
            if sw == NULL and delta_scale == 1.0:
                delta[at] = p[at] - y[at]
            else:
                delta[at] = <floating> ((p[at] - y[at]) * w * delta_scale)
        if head == HEAD_SQUARED_ERROR:
            row_loss = 0.5 * row_loss / n_cols
        total += w * row_loss
    return total


def output_forward(str head, floating[:, ::1] z, const floating[::1] bias):
    """Test entry point: z = out(z + bias) in place for the named head."""
    if z.shape[1] != bias.shape[0]:
        raise ValueError("output_forward: bias length does not match z's columns")
    cdef int code = HEAD_CODES[head]
    if z.shape[0] == 0:
        return
    with nogil:
        output_activation(code, &z[0, 0], &bias[0], z.shape[0], z.shape[1])


def loss_delta(str head, const floating[:, ::1] p, const floating[:, ::1] y,
               sample_weight=None, double delta_scale=1.0):
    """Test entry point: (sum_i w_i l_i, delta) for probabilities/predictions p."""
    import numpy as np
    if p.shape[0] != y.shape[0] or p.shape[1] != y.shape[1]:
        raise ValueError("loss_delta: p and y differ in shape")
    dtype = np.float32 if floating is float else np.float64
    delta_arr = np.empty((p.shape[0], p.shape[1]), dtype=dtype)
    cdef floating[:, ::1] delta = delta_arr
    cdef const floating[::1] sw
    cdef const floating* sw_ptr = NULL
    if sample_weight is not None:
        sw = np.ascontiguousarray(sample_weight, dtype=dtype)
        if sw.shape[0] != p.shape[0]:
            raise ValueError("loss_delta: sample_weight length differs from rows")
        sw_ptr = &sw[0]
    cdef int code = HEAD_CODES[head]
    cdef double total
    with nogil:
        total = loss_and_delta(code, &p[0, 0], &y[0, 0], sw_ptr, p.shape[0],
                               p.shape[1], delta_scale, &delta[0, 0])
    return total, delta_arr
