# Output layers: output activation, loss and output delta, fused float32/float64.
from cython cimport floating

cdef enum:
    HEAD_SQUARED_ERROR = 0   # identity output, half squared error
    HEAD_BINARY_LOG = 1      # logistic output, binary log-loss (binary, multilabel)
    HEAD_SOFTMAX_LOG = 2     # softmax output, categorical log-loss
    HEAD_POISSON = 3         # exp output, half Poisson deviance

cdef void output_activation(int head, floating* z, const floating* bias,
                            Py_ssize_t n_rows, Py_ssize_t n_cols) noexcept nogil

cdef double loss_and_delta(int head, floating* p, const floating* y,
                           const floating* sw, Py_ssize_t n_rows, Py_ssize_t n_cols,
                           double delta_scale, floating* delta) noexcept nogil
