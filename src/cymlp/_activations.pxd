# Hidden-layer activations and their derivatives, in place, fused float32/float64.
from cython cimport floating

cdef enum:
    ACT_IDENTITY = 0
    ACT_LOGISTIC = 1
    ACT_TANH = 2
    ACT_RELU = 3
    ACT_LEAKY_RELU = 4
    ACT_PRELU = 5
    ACT_ELU = 6
    ACT_GELU = 7

cdef bint needs_input(int act) noexcept nogil

cdef void bias_activation(int act, floating* z, const floating* bias,
                          Py_ssize_t n_rows, Py_ssize_t n_cols, double negative_slope,
                          const floating* slopes) noexcept nogil

cdef void activation_derivative(int act, const floating* a, const floating* z,
                                floating* delta, Py_ssize_t n_rows, Py_ssize_t n_cols,
                                double negative_slope,
                                const floating* slopes) noexcept nogil
