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
    HEAD_ABSOLUTE_ERROR = 4  # identity output, absolute error
    HEAD_QUANTILE = 5        # identity output, pinball loss of a quantile


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
    if head == HEAD_SQUARED_ERROR or head == HEAD_ABSOLUTE_ERROR or head == HEAD_QUANTILE:
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


cdef inline void pinball_slopes(int head, double quantile, double* below,
                                double* above) noexcept nogil:
    """The slopes of the absolute-error and quantile losses: the loss of a
    residual r = y - p is ``below * r`` for r >= 0 and ``above * -r`` below.

    Absolute error is |r| (slopes 1, 1); the pinball loss of quantile q has
    slopes q and 1 - q. Both are scikit-learn's (``sklearn._loss``:
    AbsoluteError, PinballLoss), kink included (see ``pinball_delta``).
    """
    if head == HEAD_QUANTILE:
        below[0] = quantile
        above[0] = 1.0 - quantile
    else:
        below[0] = 1.0
        above[0] = 1.0


cdef inline void pinball_delta(int head, double quantile, const floating* p,
                               const floating* y, const floating* sw, Py_ssize_t n_rows,
                               Py_ssize_t n_cols, double delta_scale,
                               floating* delta) noexcept nogil:
    """delta = d l_i / d p * w_i * delta_scale for the absolute-error and
    quantile heads, whose loss averages over the outputs (as squared error's).

    At the kink (p == y) the gradient is -below (absolute error: -1,
    quantile: -q), as in scikit-learn's ``sklearn._loss``.
    """
    cdef Py_ssize_t i, j
    cdef double below, above, w
    cdef const floating* yrow
    cdef const floating* prow
    cdef floating* drow
    pinball_slopes(head, quantile, &below, &above)
    for i in range(n_rows):
        w = (1.0 if sw == NULL else sw[i]) * delta_scale / n_cols
        drow = delta + i * n_cols
        prow = p + i * n_cols
        yrow = y + i * n_cols
        for j in range(n_cols):
            drow[j] = <floating> ((-below if yrow[j] >= prow[j] else above) * w)


cdef inline void output_delta(int head, double quantile, const floating* p,
                              const floating* y, const floating* sw, Py_ssize_t n_rows,
                              Py_ssize_t n_cols, double delta_scale,
                              floating* delta) noexcept nogil:
    """delta = the loss's gradient with respect to the output pre-activation,
    times w_i * delta_scale: (p - y) for the canonical heads, whose loss
    fits their output activation; p, y, delta: (n_rows, n_cols) row-major,
    sw may be NULL (all weights 1)."""
    cdef Py_ssize_t i, j, size = n_rows * n_cols
    cdef double w
    cdef const floating* yrow
    cdef const floating* prow
    cdef floating* drow
    if head == HEAD_ABSOLUTE_ERROR or head == HEAD_QUANTILE:
        pinball_delta(head, quantile, p, y, sw, n_rows, n_cols, delta_scale, delta)
    elif sw == NULL and delta_scale == 1.0:
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


cdef inline double output_loss(int head, double quantile, floating* p, const floating* y,
                               const floating* sw, Py_ssize_t n_rows,
                               Py_ssize_t n_cols) noexcept nogil:
    """Return sum_i w_i l_i for outputs p (IN, then overwritten with the
    per-value loss terms, before the per-sample weight); sw may be NULL.

    The loss-term pass is one flat loop per head, so that it vectorizes.
    """
    cdef Py_ssize_t i, size = n_rows * n_cols
    cdef double total = 0.0, pc, below, above
    cdef double eps = FLT_EPSILON if floating is float else DBL_EPSILON
    cdef floating lo = <floating> eps
    cdef floating hi = 1 - <floating> eps
    cdef floating pf

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
    elif head == HEAD_POISSON:  # y log(y / p) - y + p, with libm's log for any ratio
        for i in range(size):
            p[i] = <floating> (xlogy(y[i], y[i] / p[i]) - y[i] + p[i])
    else:  # HEAD_ABSOLUTE_ERROR, HEAD_QUANTILE: below * r (r >= 0), above * -r
        pinball_slopes(head, quantile, &below, &above)
        for i in range(size):
            pc = <double> y[i] - <double> p[i]
            p[i] = <floating> (below * pc if pc >= 0 else -above * pc)

    total = weighted_row_total(p, sw, n_rows, n_cols)
    if head == HEAD_SQUARED_ERROR:
        total = 0.5 * total / n_cols
    elif head == HEAD_ABSOLUTE_ERROR or head == HEAD_QUANTILE:
        total = total / n_cols
    return total


cdef inline double loss_and_delta(int head, double quantile, floating* p, const floating* y,
                                  const floating* sw, Py_ssize_t n_rows, Py_ssize_t n_cols,
                                  double delta_scale, floating* delta) noexcept nogil:
    """Return sum_i w_i l_i and write delta = d l_i / d z * w_i * delta_scale.

    p (IN, then overwritten with per-value loss terms), y, delta: (n_rows,
    n_cols) row-major; sw may be NULL (all weights 1); ``quantile`` is the
    quantile head's q (unused by the others).
    """
    output_delta(head, quantile, p, y, sw, n_rows, n_cols, delta_scale, delta)
    return output_loss(head, quantile, p, y, sw, n_rows, n_cols)


# The code of a head name, with its quantile checked (ValueError otherwise).
cdef int head_code(str head, double quantile) except -1
