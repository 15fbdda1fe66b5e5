# Hidden-layer activations and their derivatives, in place, fused float32/float64.
from cython cimport floating

cdef enum:
    ACT_IDENTITY = 0
    ACT_LOGISTIC = 1
    ACT_TANH = 2
    ACT_RELU = 3

cdef void bias_activation(int act, floating* z, const floating* bias,
                          Py_ssize_t n_rows, Py_ssize_t n_cols) noexcept nogil

cdef void activation_derivative(int act, const floating* a, floating* delta,
                                Py_ssize_t size) noexcept nogil
