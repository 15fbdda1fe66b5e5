"""Hidden-layer activations with the bias add, and their derivatives.

Conventions: row-major buffers of shape (n_rows, n_cols); ``z`` (IN/OUT)
holds ``X @ W`` on entry and ``f(X @ W + b)`` on exit (``bias`` may be NULL).
Derivatives multiply ``delta`` (IN/OUT) in place by f'. Most are written from
the activation's *output* ``a = f(z)`` (as scikit-learn does); 'prelu' and
'gelu' also need what training's ``bias_activation_keeping`` kept
(``needs_input``): z for 'prelu', f'(z) itself for 'gelu', whose derivative
shares its costly parts with the value.

'leaky_relu' uses ``negative_slope`` (>= 0); 'prelu' uses one slope per
column, ``slopes[j]``; 'elu' has alpha = 1; 'gelu' is the exact erf form,
x Phi(x).
"""

import numpy as np

from ._fastmath cimport exp_inline, gaussian, log_positive, normal_cdf, tanh_inline

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
    """Test entry point: delta *= f'(z) in place, given a = f(z) (and z itself
    for the activations that need it)."""
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
    # what training keeps for the backward pass, from z, as the network does
    kept_arr = np.array(zz, copy=True)
    cdef floating[:, ::1] kept = kept_arr
    cdef floating[:, ::1] scratch = np.array(zz, copy=True)
    with nogil:
        if needs_input(act):
            bias_activation_keeping(act, &scratch[0, 0], NULL, &kept[0, 0], a.shape[0],
                                    a.shape[1], negative_slope, &s[0])
        activation_derivative(act, &a[0, 0], &kept[0, 0], &delta[0, 0], a.shape[0],
                              a.shape[1], negative_slope, &s[0])


def fastmath(str name, double[::1] x):
    """Test entry point: x = f(x) in place, f one of _fastmath.pxd's 'exp',
    'log' (positive normal x), 'tanh' or 'normal_cdf'."""
    cdef Py_ssize_t i
    if name == "exp":
        for i in range(x.shape[0]):
            x[i] = exp_inline(x[i])
    elif name == "log":
        for i in range(x.shape[0]):
            x[i] = log_positive(x[i])
    elif name == "tanh":
        for i in range(x.shape[0]):
            x[i] = tanh_inline(x[i])
    elif name == "normal_cdf":
        for i in range(x.shape[0]):
            x[i] = normal_cdf(x[i], gaussian(x[i]))
    else:
        raise ValueError(f"fastmath: unknown function {name!r}")
