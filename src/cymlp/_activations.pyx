"""Hidden-layer activations, fused with the bias add, and their derivatives.

Conventions: row-major buffers; ``z`` (IN/OUT) holds ``X @ W`` on entry and
``f(X @ W + b)`` on exit; derivatives are written from the activation's
*output* ``a = f(z)`` (as scikit-learn does), multiplying ``delta`` (IN/OUT)
in place.
"""

from libc.math cimport exp, expf, tanh, tanhf

ACTIVATION_CODES = {
    "identity": ACT_IDENTITY,
    "logistic": ACT_LOGISTIC,
    "tanh": ACT_TANH,
    "relu": ACT_RELU,
}


cdef inline floating logistic(floating x) noexcept nogil:
    """1 / (1 + exp(-x)), as scipy.special.expit computes it."""
    if floating is float:
        return 1 / (1 + expf(-x))
    else:
        return 1 / (1 + exp(-x))


cdef void bias_activation(int act, floating* z, const floating* bias,
                          Py_ssize_t n_rows, Py_ssize_t n_cols) noexcept nogil:
    """z[i, j] = f(z[i, j] + bias[j]) for every row i."""
    cdef Py_ssize_t i, j
    cdef floating v
    cdef floating* row
    for i in range(n_rows):
        row = z + i * n_cols
        if act == ACT_IDENTITY:
            for j in range(n_cols):
                row[j] = row[j] + bias[j]
        elif act == ACT_LOGISTIC:
            for j in range(n_cols):
                row[j] = logistic(row[j] + bias[j])
        elif act == ACT_TANH:
            for j in range(n_cols):
                if floating is float:
                    row[j] = tanhf(row[j] + bias[j])
                else:
                    row[j] = tanh(row[j] + bias[j])
        elif act == ACT_RELU:
            for j in range(n_cols):
                v = row[j] + bias[j]
                # `v < 0` keeps NaN as NaN instead of hiding it as 0.
                row[j] = 0 if v < 0 else v


cdef void activation_derivative(int act, const floating* a, floating* delta,
                                Py_ssize_t size) noexcept nogil:
    """delta *= f'(z), with f'(z) written from the output a = f(z)."""
    cdef Py_ssize_t i
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
            if a[i] == 0:
                delta[i] = 0
    # identity: f' = 1, nothing to do


def activate(str name, floating[:, ::1] z, const floating[::1] bias):
    """Test entry point: z = f(z + bias) in place for the named activation."""
    if z.shape[1] != bias.shape[0]:
        raise ValueError("activate: bias length does not match z's columns")
    cdef int act = ACTIVATION_CODES[name]
    if z.shape[0] == 0:
        return
    with nogil:
        bias_activation(act, &z[0, 0], &bias[0], z.shape[0], z.shape[1])


def derivative(str name, const floating[:, ::1] a, floating[:, ::1] delta):
    """Test entry point: delta *= f'(z) in place, given a = f(z)."""
    if a.shape[0] != delta.shape[0] or a.shape[1] != delta.shape[1]:
        raise ValueError("derivative: a and delta differ in shape")
    cdef int act = ACTIVATION_CODES[name]
    if a.shape[0] == 0:
        return
    with nogil:
        activation_derivative(act, &a[0, 0], &delta[0, 0], a.shape[0] * a.shape[1])
