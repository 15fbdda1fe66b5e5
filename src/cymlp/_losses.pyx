"""Output layers: output activation, loss and the delta at the output.

Each head pairs an output activation with its loss. For the canonical
pairs the gradient of the loss with respect to the output pre-activation is
``p - y`` (times the sample weight), as in scikit-learn:

==================  ============  =====================================
head                activation    per-sample loss l_i
==================  ============  =====================================
squared error       identity      0.5 / k * sum_j (y_ij - p_ij)^2
binary log-loss     logistic      -sum_j y log p + (1 - y) log(1 - p)
softmax log-loss    softmax       -sum_j y log p
Poisson             exp           sum_j y log(y / p) - y + p
absolute error      identity      1 / k * sum_j |y_ij - p_ij|
quantile q          identity      1 / k * sum_j pinball_q(y_ij - p_ij)
==================  ============  =====================================

with pinball_q(r) = q r for r >= 0 and (q - 1) r below (scikit-learn's
``PinballLoss``; absolute error is its ``AbsoluteError``). Their gradient is
-1 (absolute error) or -q (quantile) where r >= 0, 1 or 1 - q below: at the
kink r = 0 it is the left one, as in scikit-learn's ``sklearn._loss``.

Probabilities are clipped to [eps, 1 - eps] (eps of the dtype) inside the
log-losses only. ``loss_and_delta`` returns ``sum_i w_i l_i``; the caller
divides by the sum of weights. ``weighted_loss`` is the loss alone, for the
outputs of a prediction (early stopping's validation loss): the same
kernel as training's, so the two cannot drift apart.
"""

import numpy as np

from ._boundary cimport float_data, readonly_float_data, sample_weights

HEAD_CODES = {
    "squared_error": HEAD_SQUARED_ERROR,
    "binary_log_loss": HEAD_BINARY_LOG,
    "log_loss": HEAD_SOFTMAX_LOG,
    "poisson": HEAD_POISSON,
    "absolute_error": HEAD_ABSOLUTE_ERROR,
    "quantile": HEAD_QUANTILE,
}
OUT_ACTIVATION = {
    HEAD_SQUARED_ERROR: "identity",
    HEAD_BINARY_LOG: "logistic",
    HEAD_SOFTMAX_LOG: "softmax",
    HEAD_POISSON: "exp",
    HEAD_ABSOLUTE_ERROR: "identity",
    HEAD_QUANTILE: "identity",
}


cdef int head_code(str head, double quantile) except -1:
    """The code of a head name, with its quantile checked."""
    if head not in HEAD_CODES:
        raise ValueError(f"unknown output head {head!r}; choose from {sorted(HEAD_CODES)}")
    if head == "quantile" and not 0.0 < quantile < 1.0:
        raise ValueError(f"the quantile head needs a quantile in (0, 1), got {quantile}")
    return HEAD_CODES[head]


def weighted_loss(str head, outputs, y, sample_weight=None, double quantile=0.5):
    """sum_i w_i l_i: the loss of the outputs of a prediction (probabilities or
    predictions, as ``predict`` gives them) against targets ``y``, with the
    training kernel's loss terms (no L2 term).

    ``outputs`` and ``y``: C-contiguous float arrays of one shape (n_rows,
    n_outputs) and dtype; ``sample_weight``: one per row in that dtype, or
    None (all weights 1).
    """
    cdef int code = head_code(head, quantile)
    if not isinstance(outputs, np.ndarray) or outputs.ndim != 2:
        raise ValueError("weighted_loss: outputs must be a 2-D numpy array")
    cdef Py_ssize_t itemsize = outputs.dtype.itemsize
    terms = np.array(outputs, order="C")   # overwritten with the loss terms
    cdef void* t = float_data(terms, itemsize, "outputs")
    cdef const void* target = readonly_float_data(y, itemsize, "y")
    if y.shape != outputs.shape:
        raise ValueError(f"weighted_loss: outputs {outputs.shape} and targets {y.shape} "
                         "differ in shape")
    cdef const void* sw = sample_weights(sample_weight, outputs.shape[0], itemsize)
    cdef Py_ssize_t n_rows = outputs.shape[0], n_cols = outputs.shape[1]
    cdef double total = 0.0
    if n_rows == 0:
        return total
    with nogil:
        if itemsize == sizeof(double):
            total = output_loss(code, quantile, <double*> t, <const double*> target,
                                <const double*> sw, n_rows, n_cols)
        else:
            total = output_loss(code, quantile, <float*> t, <const float*> target,
                                <const float*> sw, n_rows, n_cols)
    return total
