"""Test entry points into the elementwise kernels, built once per SIMD level.

The kernels are ``cdef inline`` in the .pxd files, so every module that
cimports them compiles its own copy with its own flags. Training runs the
copies inside ``_network`` / ``_network_avx2`` / ``_network_avx512``; this
module is built beside each of them with the same flags (``_kernel_entries``,
``_kernel_entries_avx2``, ...; ``_dispatch.load_entries`` imports one), so
tests reach the very code each level trains with: the activations and their
derivatives, the output heads and losses, and the _fastmath helpers.
Nothing in the package calls these.
"""

import numpy as np

from cython cimport floating

from ._activations cimport (activation_derivative, bias_activation,
                            bias_activation_keeping, needs_input)
from ._fastmath cimport exp_inline, gaussian, log_positive, normal_cdf, tanh_inline
from ._boundary cimport sample_weights
from ._losses cimport head_code, loss_and_delta, output_activation

from ._activations import ACTIVATION_CODES


def activate(str name, floating[:, ::1] z, const floating[::1] bias,
             double negative_slope=0.01, slopes=None):
    """z = f(z + bias) in place for the named activation."""
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
    """delta *= f'(z) in place, given a = f(z) (and z itself for the
    activations that need it)."""
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
    """x = f(x) in place, f one of _fastmath.pxd's 'exp', 'log' (positive
    normal x), 'tanh', 'gaussian' (exp(-x^2 / 2)) or 'normal_cdf'."""
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
    elif name == "gaussian":
        for i in range(x.shape[0]):
            x[i] = gaussian(x[i])
    elif name == "normal_cdf":
        for i in range(x.shape[0]):
            x[i] = normal_cdf(x[i], gaussian(x[i]))
    else:
        raise ValueError(f"fastmath: unknown function {name!r}")


def output_forward(str head, floating[:, ::1] z, const floating[::1] bias):
    """z = out(z + bias) in place for the named head."""
    if z.shape[1] != bias.shape[0]:
        raise ValueError("output_forward: bias length does not match z's columns")
    cdef int code = head_code(head, 0.5)
    if z.shape[0] == 0:
        return
    with nogil:
        output_activation(code, &z[0, 0], &bias[0], z.shape[0], z.shape[1])


def loss_delta(str head, const floating[:, ::1] p_in, const floating[:, ::1] y,
               sample_weight=None, double delta_scale=1.0, double quantile=0.5):
    """(sum_i w_i l_i, delta) for probabilities/predictions p."""
    if p_in.shape[0] != y.shape[0] or p_in.shape[1] != y.shape[1]:
        raise ValueError("loss_delta: p and y differ in shape")
    dtype = np.float32 if floating is float else np.float64
    cdef floating[:, ::1] p = np.array(p_in, dtype=dtype)  # overwritten by the kernel
    delta_arr = np.empty((p.shape[0], p.shape[1]), dtype=dtype)
    cdef floating[:, ::1] delta = delta_arr
    if sample_weight is not None:
        sample_weight = np.ascontiguousarray(sample_weight, dtype=dtype)
    cdef const floating* sw_ptr = <const floating*> sample_weights(sample_weight, p.shape[0],
                                                                   sizeof(floating))
    cdef int code = head_code(head, quantile)
    cdef double total
    with nogil:
        total = loss_and_delta(code, quantile, &p[0, 0], &y[0, 0], sw_ptr, p.shape[0],
                               p.shape[1], delta_scale, &delta[0, 0])
    return total, delta_arr
