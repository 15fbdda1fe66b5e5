# Follows scikit-learn's sklearn/neural_network/_stochastic_optimizers.py
# (the learning-rate schedules);
# its notice is kept, as its license requires:
# Authors: The scikit-learn developers
# SPDX-License-Identifier: BSD-3-Clause
# (full text, and cymlp's own notice, in LICENSE)
"""State of the stochastic optimizers between epochs, and their schedules.

The steps themselves run in ``_optimizers.pyx`` inside the epoch loop; these
objects hold what outlives an epoch (velocities or moments, the step counter,
the learning rate) and apply scikit-learn's end-of-epoch rules.

As in scikit-learn, an optimizer is built once per ``fit`` (or by the first
``partial_fit``) and keeps the hyperparameters it was built with: a
``set_params`` between ``partial_fit`` calls changes none of them.
"""

import math

import numpy as np

from ._dispatch import network

SOLVER_CODES = network.SOLVER_CODES


class SGDState:
    """Velocities and learning-rate schedule of SGD with (Nesterov) momentum."""

    def __init__(self, n_params, dtype, learning_rate_init, lr_schedule, momentum,
                 nesterov, power_t):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.lr_schedule = lr_schedule
        self.momentum = momentum
        self.nesterov = nesterov
        self.power_t = power_t
        self.velocity = np.zeros(n_params, dtype=dtype)
        self.t = np.zeros(1, dtype=np.int64)  # unused by SGD, kept for one signature

    def kernel_args(self):
        """(solver code, state1, state2) for the epoch loop."""
        return SOLVER_CODES["sgd"], self.velocity, self.velocity[:0]

    def kernel_hyperparameters(self):
        """(momentum, nesterov, beta_1, beta_2, epsilon); Adam's are unused."""
        return self.momentum, self.nesterov, 0.0, 0.0, 1.0

    def epoch_learning_rate(self):
        """The learning rate of the next epoch's steps."""
        return self.learning_rate

    def iteration_ends(self, time_step):
        """Apply the 'invscaling' schedule after an epoch."""
        if self.lr_schedule == "invscaling":
            try:
                scale = (time_step + 1) ** self.power_t
            except OverflowError:  # a huge power_t: the rate is 0
                scale = math.inf
            self.learning_rate = float(self.learning_rate_init) / scale

    def trigger_stopping(self, msg, verbose):
        """True to stop; with 'adaptive', divide the learning rate by 5 instead."""
        if self.lr_schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + " Setting learning rate to %f" % self.learning_rate)
        return False


class AdamState:
    """First and second moments and the step counter of Adam."""

    def __init__(self, n_params, dtype, learning_rate_init, beta_1, beta_2, epsilon):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.moments = np.zeros((2, n_params), dtype=dtype)
        self.t = np.zeros(1, dtype=np.int64)

    def kernel_args(self):
        """(solver code, state1, state2) for the epoch loop."""
        return SOLVER_CODES["adam"], self.moments[0], self.moments[1]

    def kernel_hyperparameters(self):
        """(momentum, nesterov, beta_1, beta_2, epsilon); SGD's are unused."""
        return 0.0, False, self.beta_1, self.beta_2, self.epsilon

    def epoch_learning_rate(self):
        """Adam's base rate; the kernel applies the bias corrections per step."""
        return self.learning_rate_init

    def iteration_ends(self, time_step):
        """Record the step size of the last step, as scikit-learn reports it."""
        t = int(self.t[0])
        if t:
            self.learning_rate = (
                self.learning_rate_init
                * math.sqrt(1 - self.beta_2**t)
                / (1 - self.beta_1**t)
            )

    def trigger_stopping(self, msg, verbose):
        """Adam always stops when the loss stops improving."""
        if verbose:
            print(msg + " Stopping.")
        return True


def make_optimizer(estimator, n_params, dtype):
    """A fresh optimizer state for the estimator's solver."""
    if estimator.solver == "sgd":
        return SGDState(
            n_params, dtype, estimator.learning_rate_init, estimator.learning_rate,
            estimator.momentum, estimator.nesterovs_momentum, estimator.power_t,
        )
    return AdamState(
        n_params, dtype, estimator.learning_rate_init, estimator.beta_1,
        estimator.beta_2, estimator.epsilon,
    )
