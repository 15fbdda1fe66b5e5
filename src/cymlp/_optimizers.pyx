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
