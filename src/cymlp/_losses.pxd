# Output layers: output activation, loss and output delta, fused float32/float64.
#
# The kernels are `cdef inline` here so that each module cimporting them
# compiles its own copy with its own flags (the network's SIMD variants, see
# _dispatch.py); the .pyx keeps the module docstring and the codes by name,
# _kernel_entries.pyx (built per level too) the test entry points.
from cython cimport floating
from libc.math cimport log
from libc.float cimport DBL_EPSILON, FLT_EPSILON

from ._activations cimport bias_activation, ACT_IDENTITY, ACT_LOGISTIC
from ._fastmath cimport exp_inline, log_positive
from ._rowops cimport weighted_row_total

cdef enum:
    HEAD_SQUARED_ERROR = 0   # identity output, half squared error
    HEAD_BINARY_LOG = 1      # logistic output, binary log-loss (binary, multilabel)
    HEAD_SOFTMAX_LOG = 2     # softmax output, categorical log-loss
    HEAD_POISSON = 3         # exp output, half Poisson deviance


cdef inline double xlogy(double x, double y) noexcept nogil:
    """x * log(y), and 0 where x == 0 (scipy.special.xlogy)."""
    if x == 0:
        return 0.0
    return x * log(y)


cdef inline void output_activation(int head, floating* z, const floating* bias,
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
        bias_activation(ACT_IDENTITY, z, bias, n_rows, n_cols, 0.0, <const floating*> NULL)
        for i in range(n_rows * n_cols):
            z[i] = <floating> exp_inline(z[i])
    elif head == HEAD_SOFTMAX_LOG:
        # softmax(v) = exp(v - max v) / sum exp(v - max v), in three passes so
        # that the exp runs as one long (vectorized) loop even for few classes
        for i in range(n_rows):
            row = z + i * n_cols
            for j in range(n_cols):
                row[j] = row[j] + bias[j]
            # Branch-free max (a compare-and-branch mispredicts on every
            # other value). It skips NaN, which still makes the whole row NaN
            # through the sum below, as numpy's NaN-propagating max does.
            top = row[0]
            for j in range(1, n_cols):
                top = row[j] if row[j] > top else top
            for j in range(n_cols):
                row[j] = row[j] - top
        for i in range(n_rows * n_cols):
            z[i] = <floating> exp_inline(z[i])
        for i in range(n_rows):
            row = z + i * n_cols
            total = 0
            for j in range(n_cols):
                total = total + row[j]
            for j in range(n_cols):
                row[j] = row[j] / total


cdef inline double loss_and_delta(int head, floating* p, const floating* y,
                                  const floating* sw, Py_ssize_t n_rows, Py_ssize_t n_cols,
                                  double delta_scale, floating* delta) noexcept nogil:
    """Return sum_i w_i l_i and write delta = (p - y) * w_i * delta_scale.

    p (IN, then overwritten with per-value loss terms), y, delta: (n_rows,
    n_cols) row-major; sw may be NULL (all weights 1). The delta pass and
    the loss-term pass are separate flat loops so that both vectorize.
    """
    cdef Py_ssize_t i, j, size = n_rows * n_cols
    cdef double total = 0.0, w, pc
    cdef double eps = FLT_EPSILON if floating is float else DBL_EPSILON
    cdef floating lo = <floating> eps
    cdef floating hi = 1 - <floating> eps
    cdef floating pf
    cdef const floating* yrow
    cdef floating* drow
    cdef floating* prow

    # delta = (p - y) [* w_i * scale]
    if sw == NULL and delta_scale == 1.0:
        for i in range(size):
            delta[i] = p[i] - y[i]
    else:
        for i in range(n_rows):
            w = (1.0 if sw == NULL else sw[i]) * delta_scale
            drow = delta + i * n_cols
            prow = p + i * n_cols
            yrow = y + i * n_cols
            for j in range(n_cols):
                drow[j] = <floating> ((prow[j] - yrow[j]) * w)

    # p <- per-value loss terms (before the per-sample weight)
    if head == HEAD_SQUARED_ERROR:
        for i in range(size):
            pc = y[i] - p[i]
            p[i] = <floating> (pc * pc)
    elif head == HEAD_BINARY_LOG:
        # Clipped probabilities keep both logs finite, so y log p with y = 0
        # is exactly 0, as xlogy gives.
        for i in range(size):
            pf = p[i]
            pf = lo if pf < lo else (hi if pf > hi else pf)
            p[i] = <floating> -(y[i] * log_positive(pf) + (1.0 - y[i]) * log_positive(1.0 - pf))
    elif head == HEAD_SOFTMAX_LOG:
        for i in range(size):
            pf = p[i]
            pf = lo if pf < lo else (hi if pf > hi else pf)
            p[i] = <floating> -(y[i] * log_positive(pf))
    else:  # HEAD_POISSON: y log(y / p) - y + p, with libm's log for any ratio
        for i in range(size):
            p[i] = <floating> (xlogy(y[i], y[i] / p[i]) - y[i] + p[i])

    total = weighted_row_total(p, sw, n_rows, n_cols)
    if head == HEAD_SQUARED_ERROR:
        total = 0.5 * total / n_cols
    return total
