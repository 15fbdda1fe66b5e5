# Optimizer steps over the flat parameter buffer, one fused loop each.
#
# The kernels are `cdef inline` here so that each module cimporting them
# compiles its own copy with its own flags (the network's SIMD variants, see
# _dispatch.py); the .pyx keeps the module docstring and test entry points.
from cython cimport floating
from libc.math cimport pow, sqrt, sqrtf

cdef extern from "<float.h>":
    const float FLT_TRUE_MIN
    const double DBL_TRUE_MIN


cdef inline void sgd_step(floating* params, const floating* grads, floating* velocity,
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


cdef inline void adam_step(floating* params, const floating* grads, floating* m, floating* v,
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


cdef enum:
    RULE_SGD = 0
    RULE_ADAM = 1


cdef struct StepRule:
    # One optimizer's step: its kind, hyperparameters and state buffers (of the
    # parameters' dtype and length), bound once per fit by the epoch plan.
    int kind                 # RULE_SGD or RULE_ADAM
    double momentum          # SGD
    bint nesterov            # SGD
    double beta_1            # Adam
    double beta_2            # Adam
    double epsilon           # Adam
    void* state1             # IN/OUT: SGD's velocity, or Adam's first moment
    void* state2             # IN/OUT: Adam's second moment (NULL for SGD)
    long long* t             # IN/OUT: Adam's step counter (NULL for SGD)


cdef inline double begin_step(StepRule* rule, double learning_rate) noexcept nogil:
    """Count one step of ``rule`` and return the step size it applies: Adam's
    bias-corrected lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) at step t, as
    scikit-learn computes it; SGD's learning rate."""
    if rule.kind == RULE_ADAM:
        rule.t[0] += 1
        return (learning_rate * sqrt(1 - pow(rule.beta_2, <double> rule.t[0]))
                / (1 - pow(rule.beta_1, <double> rule.t[0])))
    return learning_rate


cdef inline void apply_step(const StepRule* rule, floating* params, const floating* grads,
                            Py_ssize_t start, Py_ssize_t stop, double step) noexcept nogil:
    """The step of size ``step`` on params[start:stop] (elementwise: any split of
    the buffer gives the same bits)."""
    if rule.kind == RULE_ADAM:
        adam_step(params + start, grads + start, (<floating*> rule.state1) + start,
                  (<floating*> rule.state2) + start, stop - start, step, rule.beta_1,
                  rule.beta_2, rule.epsilon)
    else:
        sgd_step(params + start, grads + start, (<floating*> rule.state1) + start,
                 stop - start, step, rule.momentum, rule.nesterov)


cdef inline void optimizer_step(StepRule* rule, floating* params, const floating* grads,
                                Py_ssize_t size, double learning_rate) noexcept nogil:
    """One step of ``rule`` over the flat buffer."""
    apply_step(rule, params, grads, 0, size, begin_step(rule, learning_rate))
