# Follows scikit-learn's sklearn/neural_network/_stochastic_optimizers.py
# (the SGD and Adam arithmetic, in its order);
# its notice is kept, as its license requires:
# Authors: The scikit-learn developers
# SPDX-License-Identifier: BSD-3-Clause
# (full text, and cymlp's own notice, in LICENSE)
"""SGD (momentum, Nesterov) and Adam steps over one flat parameter buffer.

Each step is a single loop over ``params`` (IN/OUT) and its state buffers
(IN/OUT), reading ``grads`` (IN). The arithmetic is written in the order
scikit-learn's ``_stochastic_optimizers`` evaluates it, so that float64
results agree to the last bits.
"""

from libc.math cimport sqrt, sqrtf

cdef extern from "<float.h>":
    const float FLT_TRUE_MIN
    const double DBL_TRUE_MIN


cdef void sgd_step(floating* params, const floating* grads, floating* velocity,
                   Py_ssize_t size, double learning_rate, double momentum,
                   bint nesterov) noexcept nogil:
    """v = momentum v - lr g; params += v, or momentum v - lr g with Nesterov."""
    cdef Py_ssize_t i
    cdef floating lr = <floating> learning_rate
    cdef floating mu = <floating> momentum
    cdef floating vel
    for i in range(size):
        vel = mu * velocity[i] - lr * grads[i]
        velocity[i] = vel
        if nesterov:
            params[i] = params[i] + (mu * vel - lr * grads[i])
        else:
            params[i] = params[i] + vel


cdef void adam_step(floating* params, const floating* grads, floating* m, floating* v,
                    Py_ssize_t size, double step_size, double beta_1, double beta_2,
                    double epsilon) noexcept nogil:
    """m, v = moving moments of g and g^2; params -= step m / (sqrt(v) + eps).

    ``step_size`` is lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) for step t.
    """
    cdef Py_ssize_t i
    cdef floating b1 = <floating> beta_1
    cdef floating b2 = <floating> beta_2
    cdef floating c1 = <floating> (1 - beta_1)
    cdef floating c2 = <floating> (1 - beta_2)
    cdef floating neg_step = <floating> (-step_size)
    cdef floating eps = <floating> epsilon
    if eps == 0 and epsilon > 0:
        eps = <floating> (FLT_TRUE_MIN if floating is float else DBL_TRUE_MIN)
    cdef floating g, mi, vi
    for i in range(size):
        g = grads[i]
        mi = b1 * m[i] + c1 * g
        vi = b2 * v[i] + c2 * (g * g)
        m[i] = mi
        v[i] = vi
        if floating is float:
            params[i] = params[i] + neg_step * mi / (sqrtf(vi) + eps)
        else:
            params[i] = params[i] + neg_step * mi / (sqrt(vi) + eps)


def sgd_update(floating[::1] params, const floating[::1] grads, floating[::1] velocity,
               double learning_rate, double momentum, bint nesterov):
    """Test entry point for one SGD step in place."""
    if grads.shape[0] != params.shape[0] or velocity.shape[0] != params.shape[0]:
        raise ValueError("sgd_update: buffers differ in length")
    if params.shape[0] == 0:
        return
    with nogil:
        sgd_step(&params[0], &grads[0], &velocity[0], params.shape[0],
                 learning_rate, momentum, nesterov)


def adam_update(floating[::1] params, const floating[::1] grads, floating[::1] m,
                floating[::1] v, double step_size, double beta_1, double beta_2,
                double epsilon):
    """Test entry point for one Adam step in place."""
    if (grads.shape[0] != params.shape[0] or m.shape[0] != params.shape[0]
            or v.shape[0] != params.shape[0]):
        raise ValueError("adam_update: buffers differ in length")
    if params.shape[0] == 0:
        return
    with nogil:
        adam_step(&params[0], &grads[0], &m[0], &v[0], params.shape[0], step_size,
                  beta_1, beta_2, epsilon)
