# Hidden-layer activations and their derivatives, in place, fused float32/float64.
#
# The kernels are `cdef inline` here (not in _activations.pyx) so that every
# module that cimports them compiles its own copy with its own flags: the
# network's SIMD variants (see _dispatch.py) each vectorize them for their
# ISA. _activations.pyx holds the module docstring and the codes by name;
# _kernel_entries.pyx (built per level too) the test entry points.
from cython cimport floating
from libc.string cimport memcpy
from ._fastmath cimport exp_inline, gaussian, normal_cdf, tanh_float, tanh_inline

cdef enum:
    ACT_IDENTITY = 0
    ACT_LOGISTIC = 1
    ACT_TANH = 2
    ACT_RELU = 3
    ACT_LEAKY_RELU = 4
    ACT_PRELU = 5
    ACT_ELU = 6
    ACT_GELU = 7


cdef inline floating logistic(floating x) noexcept nogil:
    """1 / (1 + exp(-x)), as scipy.special.expit computes it (vectorizable exp)."""
    if floating is float:
        return <float> (1 / (1 + exp_inline(-<double> x)))
    else:
        return 1 / (1 + exp_inline(-x))


cdef inline floating fast_tanh(floating x) noexcept nogil:
    """tanh(x) within a few ulp (libm's tanh is slow and scalar), in the
    precision of x."""
    if floating is float:
        return tanh_float(x)
    else:
        return tanh_inline(x)


cdef inline bint needs_input(int act) noexcept nogil:
    """True when f' cannot be written from the output a = f(z) alone: training
    then runs bias_activation_keeping."""
    return act == ACT_PRELU or act == ACT_GELU


cdef inline double gelu_from(double x, double cdf) noexcept nogil:
    """x Phi(x), given cdf = Phi(x); -0 where Phi is 0 (x <= -37.5), so
    also at x = -inf (where x * 0 would be NaN)."""
    cdef double v = x * cdf
    return -0.0 if cdf == 0 else v


cdef inline double gelu_derivative_from(double x, double g, double cdf) noexcept nogil:
    """Phi(x) + x phi(x), given g = exp(-x^2 / 2) and cdf = Phi(x); x phi(x)
    is 0 where g is (|x| > 37.6), so the derivative is 1 at inf and 0 at -inf."""
    cdef double t = x * g * 0.3989422804014327
    return cdf + (0.0 if g == 0 else t)


cdef inline double elu_negative(double x) noexcept nogil:
    """exp(x) - 1 for x < 0, branch-free: a Taylor series near 0 (where
    exp(x) - 1 would cancel), the vectorizable exp elsewhere."""
    cdef double series = x * (1.0 + x * (1.0 / 2 + x * (1.0 / 6 + x * (1.0 / 24 + x * (
        1.0 / 120 + x * (1.0 / 720 + x * (1.0 / 5040 + x * (1.0 / 40320))))))))
    cdef double direct = exp_inline(x) - 1.0
    return series if x > -0.0625 else direct


cdef inline floating relu(floating v) noexcept nogil:
    # `v < 0` keeps NaN as NaN instead of hiding it as 0.
    return 0 if v < 0 else v


cdef inline floating leaky(floating v, floating slope) noexcept nogil:
    return slope * v if v < 0 else v


cdef inline floating elu(floating v) noexcept nogil:
    return <floating> elu_negative(v) if v < 0 else v


# One small function per activation, each a single loop over contiguous
# values: gcc then inlines the branch-free exp and tanh and vectorizes. The
# bias is added by its own loop first. (One loop reading ``bias[j] if bias
# != NULL else 0`` was vectorized into masked loads from NULL, whose fault
# suppression costs a microcode assist per vector.)

cdef inline void logistic_rows(floating* v, Py_ssize_t size) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(size):
        v[j] = logistic(v[j])


cdef inline void tanh_rows(floating* v, Py_ssize_t size) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(size):
        v[j] = fast_tanh(v[j])


cdef inline void relu_rows(floating* v, Py_ssize_t size) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(size):
        v[j] = relu(v[j])


cdef inline void leaky_relu_rows(floating* v, Py_ssize_t size, floating slope) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(size):
        v[j] = leaky(v[j], slope)


cdef inline void prelu_rows(floating* v, Py_ssize_t size, const floating* slopes,
                            Py_ssize_t n_cols) noexcept nogil:
    """slopes indexed by column; size is a whole number of rows. Row by row,
    so the inner loop vectorizes (a j % n_cols per value did not)."""
    cdef Py_ssize_t i, j
    cdef floating* row
    for i in range(size // n_cols):
        row = v + i * n_cols
        for j in range(n_cols):
            row[j] = leaky(row[j], slopes[j])


cdef inline void elu_rows(floating* v, Py_ssize_t size) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(size):
        v[j] = elu(v[j])


cdef inline void gelu_rows(floating* v, Py_ssize_t size) noexcept nogil:
    """v[j] = x Phi(x), the exact (erf) form. gaussian and normal_cdf are
    called from the loop itself: through a one-line gelu(x) helper, clang 14
    judged the helper too costly to inline (cost 345, threshold 325) and
    called it once per value, unvectorized (gelu_from is a multiply and a
    select)."""
    cdef Py_ssize_t j
    cdef double x
    for j in range(size):
        x = v[j]
        v[j] = <floating> gelu_from(x, normal_cdf(x, gaussian(x)))


cdef inline void apply_activation(int act, floating* v, Py_ssize_t size, double negative_slope,
                                  const floating* slopes, Py_ssize_t n_cols) noexcept nogil:
    """v[j] = f(v[j]) over ``size`` contiguous values of rows of ``n_cols``."""
    if act == ACT_LOGISTIC:
        logistic_rows(v, size)
    elif act == ACT_TANH:
        tanh_rows(v, size)
    elif act == ACT_RELU:
        relu_rows(v, size)
    elif act == ACT_LEAKY_RELU:
        leaky_relu_rows(v, size, <floating> negative_slope)
    elif act == ACT_PRELU:
        prelu_rows(v, size, slopes, n_cols)
    elif act == ACT_ELU:
        elu_rows(v, size)
    elif act == ACT_GELU:
        gelu_rows(v, size)
    # identity: nothing to do


cdef inline void add_bias(floating* z, const floating* bias, Py_ssize_t n_rows,
                          Py_ssize_t n_cols) noexcept nogil:
    cdef Py_ssize_t i, j
    cdef floating b
    cdef floating* row
    if n_cols == 1:
        b = bias[0]
        for i in range(n_rows):
            z[i] = z[i] + b
        return
    for i in range(n_rows):
        row = z + i * n_cols
        for j in range(n_cols):
            row[j] = row[j] + bias[j]


# Rows shorter than this get the bias over the whole block, then f in one flat
# loop: a loop over one short row spends most of its time in the scalar
# iterations before and after its vector body (up to 15 of 32 floats at
# AVX-512), which for exp or tanh cost more than the vector body itself.
cdef enum:
    ROW_BY_ROW_FROM = 128


cdef inline void bias_activation(int act, floating* z, const floating* bias,
                                 Py_ssize_t n_rows, Py_ssize_t n_cols, double negative_slope,
                                 const floating* slopes) noexcept nogil:
    """z[i, j] = f(z[i, j] + bias[j]) for every row i (no bias if NULL)."""
    cdef Py_ssize_t i
    if n_cols < ROW_BY_ROW_FROM or bias == NULL:
        # Narrow rows: add the bias, then one flat pass of f.
        if bias != NULL:
            add_bias(z, bias, n_rows, n_cols)
        apply_activation(act, z, n_rows * n_cols, negative_slope, slopes, n_cols)
        return
    # Wide rows: bias and f row by row, while the row is in L1.
    for i in range(n_rows):
        add_bias(z + i * n_cols, bias, 1, n_cols)
        apply_activation(act, z + i * n_cols, n_cols, negative_slope, slopes, n_cols)


cdef inline void gelu_keeping_derivative(floating* v, floating* derivative,
                                         Py_ssize_t size) noexcept nogil:
    """v[j] = gelu(v[j]) and derivative[j] = gelu'(v[j]): one exp and one Phi
    serve both."""
    cdef Py_ssize_t j
    cdef double x, g, cdf
    for j in range(size):
        x = v[j]
        g = gaussian(x)
        cdf = normal_cdf(x, g)
        v[j] = <floating> gelu_from(x, cdf)
        derivative[j] = <floating> gelu_derivative_from(x, g, cdf)


cdef inline void bias_activation_keeping(int act, floating* z, const floating* bias,
                                         floating* kept, Py_ssize_t n_rows,
                                         Py_ssize_t n_cols, double negative_slope,
                                         const floating* slopes) noexcept nogil:
    """bias_activation for training, for the activations that ``needs_input``:
    also fills ``kept`` with what activation_derivative needs besides the
    output, z + bias (PReLU) or f'(z + bias) (GELU, whose derivative shares
    its costly parts with the value)."""
    cdef Py_ssize_t size = n_rows * n_cols
    if bias != NULL:
        add_bias(z, bias, n_rows, n_cols)
    if act == ACT_GELU:
        gelu_keeping_derivative(z, kept, size)
    else:
        memcpy(kept, z, size * sizeof(floating))
        apply_activation(act, z, size, negative_slope, slopes, n_cols)


cdef inline void activation_derivative(int act, const floating* a, const floating* kept,
                                       floating* delta, Py_ssize_t n_rows, Py_ssize_t n_cols,
                                       double negative_slope,
                                       const floating* slopes) noexcept nogil:
    """delta *= f'(z); a = f(z) is the output, ``kept`` (needs_input only) what
    bias_activation_keeping kept: z for PReLU, f'(z) for GELU."""
    cdef Py_ssize_t i, j, size = n_rows * n_cols
    cdef floating slope = <floating> negative_slope
    if act == ACT_LOGISTIC:
        # f' = a (1 - a)
        for i in range(size):
            delta[i] = delta[i] * a[i] * (1 - a[i])
    elif act == ACT_TANH:
        # f' = 1 - a^2
        for i in range(size):
            delta[i] = delta[i] * (1 - a[i] * a[i])
    elif act == ACT_RELU:
        # f' = 1 where a > 0, else 0 (a == 0 marks the clipped half)
        for i in range(size):
            delta[i] = 0 if a[i] == 0 else delta[i]
    elif act == ACT_LEAKY_RELU:
        # f' = 1 where a > 0, else the slope (slope >= 0 keeps the sign of z)
        for i in range(size):
            delta[i] = delta[i] if a[i] > 0 else slope * delta[i]
    elif act == ACT_ELU:
        # f' = 1 where a > 0, else exp(z) = a + 1
        for i in range(size):
            delta[i] = delta[i] if a[i] > 0 else delta[i] * (a[i] + 1)
    elif act == ACT_PRELU:
        # f' = 1 where z >= 0, else the column's slope
        for i in range(n_rows):
            for j in range(n_cols):
                delta[i * n_cols + j] = (delta[i * n_cols + j] * slopes[j]
                                         if kept[i * n_cols + j] < 0
                                         else delta[i * n_cols + j])
    elif act == ACT_GELU:
        # f' was computed with f, by bias_activation_keeping
        for i in range(size):
            delta[i] = delta[i] * kept[i]
    # identity: f' = 1, nothing to do
