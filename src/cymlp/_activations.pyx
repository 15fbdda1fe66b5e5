"""Hidden-layer activations with the bias add, and their derivatives.

Conventions: row-major buffers of shape (n_rows, n_cols); ``z`` (IN/OUT)
holds ``X @ W`` on entry and ``f(X @ W + b)`` on exit (``bias`` may be NULL).
Derivatives multiply ``delta`` (IN/OUT) in place by f'. Most are written from
the activation's *output* ``a = f(z)`` (as scikit-learn does); 'prelu' and
'gelu' need the input ``z`` (``needs_input``), which the network then keeps.

'leaky_relu' uses ``negative_slope`` (>= 0); 'prelu' uses one slope per
column, ``slopes[j]``; 'elu' has alpha = 1; 'gelu' is the exact erf form.
"""

from libc.math cimport fabs, fabsf, copysign, copysignf, erf, expm1, exp

from ._fastmath cimport exp_inline, tanh_inline

ACTIVATION_CODES = {
    "identity": ACT_IDENTITY,
    "logistic": ACT_LOGISTIC,
    "tanh": ACT_TANH,
    "relu": ACT_RELU,
    "leaky_relu": ACT_LEAKY_RELU,
    "prelu": ACT_PRELU,
    "elu": ACT_ELU,
    "gelu": ACT_GELU,
}


cdef inline floating logistic(floating x) noexcept nogil:
    """1 / (1 + exp(-x)), as scipy.special.expit computes it (vectorizable exp)."""
    if floating is float:
        return <float> (1 / (1 + exp_inline(-<double> x)))
    else:
        return 1 / (1 + exp_inline(-x))


cdef inline floating fast_tanh(floating x) noexcept nogil:
    """tanh(x) within a few ulp (libm's tanh is slow and scalar)."""
    return <floating> tanh_inline(x)


cdef bint needs_input(int act) noexcept nogil:
    """True when f' cannot be written from the output a = f(z) alone."""
    return act == ACT_PRELU or act == ACT_GELU


cdef inline double gelu(double x) noexcept nogil:
    """x Phi(x) = x / 2 (1 + erf(x / sqrt 2))."""
    return 0.5 * x * (1.0 + erf(x * 0.7071067811865476))


cdef inline double gelu_derivative(double x) noexcept nogil:
    """Phi(x) + x phi(x)."""
    return (0.5 * (1.0 + erf(x * 0.7071067811865476))
            + x * exp(-0.5 * x * x) * 0.3989422804014327)


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

cdef void logistic_rows(floating* v, Py_ssize_t size) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(size):
        v[j] = logistic(v[j])


cdef void tanh_rows(floating* v, Py_ssize_t size) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(size):
        v[j] = fast_tanh(v[j])


cdef void relu_rows(floating* v, Py_ssize_t size) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(size):
        v[j] = relu(v[j])


cdef void leaky_relu_rows(floating* v, Py_ssize_t size, floating slope) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(size):
        v[j] = leaky(v[j], slope)


cdef void prelu_rows(floating* v, Py_ssize_t size, const floating* slopes,
                     Py_ssize_t n_cols) noexcept nogil:
    """slopes indexed by column, j % n_cols."""
    cdef Py_ssize_t j
    for j in range(size):
        v[j] = leaky(v[j], slopes[j % n_cols])


cdef void elu_rows(floating* v, Py_ssize_t size) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(size):
        v[j] = elu(v[j])


cdef void gelu_rows(floating* v, Py_ssize_t size) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(size):
        v[j] = <floating> gelu(v[j])


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


cdef void bias_activation(int act, floating* z, const floating* bias,
                          Py_ssize_t n_rows, Py_ssize_t n_cols, double negative_slope,
                          const floating* slopes) noexcept nogil:
    """z[i, j] = f(z[i, j] + bias[j]) for every row i (no bias if NULL)."""
    cdef Py_ssize_t i
    if n_cols < 16 or bias == NULL:
        # Narrow rows: add the bias, then one flat pass of f, so that the
        # activation loop is long enough to vectorize.
        if bias != NULL:
            add_bias(z, bias, n_rows, n_cols)
        apply_activation(act, z, n_rows * n_cols, negative_slope, slopes, n_cols)
        return
    # Wide rows: bias and f row by row, while the row is in L1.
    for i in range(n_rows):
        add_bias(z + i * n_cols, bias, 1, n_cols)
        apply_activation(act, z + i * n_cols, n_cols, negative_slope, slopes, n_cols)


cdef void activation_derivative(int act, const floating* a, const floating* z,
                                floating* delta, Py_ssize_t n_rows, Py_ssize_t n_cols,
                                double negative_slope,
                                const floating* slopes) noexcept nogil:
    """delta *= f'(z); a = f(z) is the output, z the input (needs_input only)."""
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
                                         if z[i * n_cols + j] < 0
                                         else delta[i * n_cols + j])
    elif act == ACT_GELU:
        for i in range(size):
            delta[i] = <floating> (delta[i] * gelu_derivative(z[i]))
    # identity: f' = 1, nothing to do


def activate(str name, floating[:, ::1] z, const floating[::1] bias,
             double negative_slope=0.01, slopes=None):
    """Test entry point: z = f(z + bias) in place for the named activation."""
    if z.shape[1] != bias.shape[0]:
        raise ValueError("activate: bias length does not match z's columns")
    cdef int act = ACTIVATION_CODES[name]
    cdef const floating[::1] s = bias if slopes is None else slopes
    if s.shape[0] != z.shape[1]:
        raise ValueError("activate: slopes length does not match z's columns")
    if z.shape[0] == 0:
        return
    with nogil:
        bias_activation(act, &z[0, 0], &bias[0], z.shape[0], z.shape[1],
                        negative_slope, &s[0])


def derivative(str name, const floating[:, ::1] a, floating[:, ::1] delta, z=None,
               double negative_slope=0.01, slopes=None):
    """Test entry point: delta *= f'(z) in place, given a = f(z) (and z itself)."""
    if a.shape[0] != delta.shape[0] or a.shape[1] != delta.shape[1]:
        raise ValueError("derivative: a and delta differ in shape")
    cdef int act = ACTIVATION_CODES[name]
    cdef const floating[:, ::1] zz = a if z is None else z
    cdef const floating[::1] s = a[0] if slopes is None else slopes
    if zz.shape[0] != a.shape[0] or zz.shape[1] != a.shape[1]:
        raise ValueError("derivative: z and a differ in shape")
    if slopes is not None and s.shape[0] != a.shape[1]:
        raise ValueError("derivative: slopes length does not match a's columns")
    if needs_input(act) and z is None:
        raise ValueError(f"derivative: '{name}' needs its input z")
    if a.shape[0] == 0:
        return
    with nogil:
        activation_derivative(act, &a[0, 0], &zz[0, 0], &delta[0, 0], a.shape[0],
                              a.shape[1], negative_slope, &s[0])
