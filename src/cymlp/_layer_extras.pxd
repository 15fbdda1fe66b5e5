# Hidden-layer extras: batch normalization and dropout, fused float32/float64.
from cython cimport floating
from libc.stdint cimport uint64_t

cdef void batch_norm_forward(floating* z, const floating* bias, Py_ssize_t n,
                             Py_ssize_t m, const floating* gamma, const floating* beta,
                             floating* normed, floating* stats, floating* running,
                             double momentum, bint training) noexcept nogil

cdef void batch_norm_backward(floating* delta, const floating* normed,
                              const floating* stats, const floating* gamma,
                              Py_ssize_t n, Py_ssize_t m, floating* grad_gamma,
                              floating* grad_beta, double sw_sum) noexcept nogil

cdef void dropout_forward(const floating* a, floating* keep, floating* dropped,
                          Py_ssize_t size, double rate, uint64_t* rng) noexcept nogil
