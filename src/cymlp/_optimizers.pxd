# Optimizer steps over the flat parameter buffer, one fused loop each.
from cython cimport floating

cdef void sgd_step(floating* params, const floating* grads, floating* velocity,
                   Py_ssize_t size, double learning_rate, double momentum,
                   bint nesterov) noexcept nogil

cdef void adam_step(floating* params, const floating* grads, floating* m, floating* v,
                    Py_ssize_t size, double step_size, double beta_1, double beta_2,
                    double epsilon) noexcept nogil
