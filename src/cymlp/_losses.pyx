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


def output_forward(str head, floating[:, ::1] z, const floating[::1] bias):
    """Test entry point: z = out(z + bias) in place for the named head."""
    if z.shape[1] != bias.shape[0]:
        raise ValueError("output_forward: bias length does not match z's columns")
    cdef int code = HEAD_CODES[head]
    if z.shape[0] == 0:
        return
    with nogil:
        output_activation(code, &z[0, 0], &bias[0], z.shape[0], z.shape[1])


def loss_delta(str head, const floating[:, ::1] p_in, const floating[:, ::1] y,
               sample_weight=None, double delta_scale=1.0):
    """Test entry point: (sum_i w_i l_i, delta) for probabilities/predictions p."""
    import numpy as np
    if p_in.shape[0] != y.shape[0] or p_in.shape[1] != y.shape[1]:
        raise ValueError("loss_delta: p and y differ in shape")
    dtype = np.float32 if floating is float else np.float64
    cdef floating[:, ::1] p = np.array(p_in, dtype=dtype)  # overwritten by the kernel
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
