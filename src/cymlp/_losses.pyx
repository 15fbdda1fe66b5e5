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

