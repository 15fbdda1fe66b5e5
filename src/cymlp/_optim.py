# Follows scikit-learn's sklearn/neural_network/_stochastic_optimizers.py
# (the learning-rate schedules);
# its notice is kept, as its license requires:
# Authors: The scikit-learn developers
# SPDX-License-Identifier: BSD-3-Clause
# (full text, and cymlp's own notice, in LICENSE)
"""The stochastic optimizers between epochs: their state and learning-rate schedules.

The steps themselves run inside the epoch loop (``_optimizers.pxd``); these
objects hold what outlives an epoch (velocities or moments, Adam's step
counter, the learning rate), hand the kernels their step rule
(``step_rule``) and apply scikit-learn's end-of-epoch rules. They share
scikit-learn's optimizer interface (``BaseOptimizer`` in its
``_stochastic_optimizers``): ``iteration_ends`` after each epoch,
``trigger_stopping`` when the loss stops improving.

As in scikit-learn, an optimizer is built once per ``fit`` (or by the first
``partial_fit``) and keeps the hyperparameters it was built with: a
``set_params`` between ``partial_fit`` calls changes none of them.

Beyond scikit-learn, both optimizers run the 'cosine' schedule: epoch ``e``
since the network was initialized trains at ``learning_rate_init * (1 +
cos(pi * (e mod period) / period)) / 2``, with ``period`` the estimator's
``max_iter``. A new optimizer (a ``warm_start`` fit) starts at the epoch the
network has reached; a ``partial_fit`` optimizer counts on.
"""

import math
from abc import ABC, abstractmethod

import numpy as np

from . import _plans


class BaseOptimizer(ABC):
    """The learning rate, and scikit-learn's default end-of-epoch rules."""

    # The 'cosine' schedule: epochs per cycle (None: not used), and the epoch
    # the network is at. Class attributes, so that optimizers without the
    # schedule (and those saved before it existed) keep their saved form.
    cosine_period = None
    epoch = 0

    def __init__(self, learning_rate_init):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)

    @abstractmethod
    def step_rule(self):
        """The step rule the epoch loop runs (``_plans.sgd_rule`` or ``adam_rule``)."""

    def use_cosine(self, period, epoch):
        """Anneal with the 'cosine' schedule, ``period`` epochs per cycle, from
        ``epoch`` (the epochs the network has trained since it was initialized)."""
        self.cosine_period = int(period)
        self.epoch = int(epoch)

    def base_learning_rate(self):
        """``learning_rate_init``, scaled by the cosine schedule when it is used."""
        if self.cosine_period is None:
            return self.learning_rate_init
        phase = (self.epoch % self.cosine_period) / self.cosine_period
        return self.learning_rate_init * (1.0 + math.cos(math.pi * phase)) / 2.0

    def epoch_learning_rate(self):
        """The learning rate of the next epoch's steps."""
        if self.cosine_period is not None:
            self.learning_rate = float(self.base_learning_rate())
        return self.learning_rate

    def iteration_ends(self, time_step):
        """Update the schedule after an epoch (``time_step``: samples seen)."""

    def trigger_stopping(self, msg, verbose):
        """True to stop training now that the loss stopped improving."""
        if verbose:
            print(msg + " Stopping.")
        return True


class SGDState(BaseOptimizer):
    """Velocities and learning-rate schedule of SGD with (Nesterov) momentum."""

    def __init__(self, n_params, dtype, learning_rate_init, lr_schedule, momentum,
                 nesterov, power_t):
        super().__init__(learning_rate_init)
        self.lr_schedule = lr_schedule
        self.momentum = momentum
        self.nesterov = nesterov
        self.power_t = power_t
        self.velocity = np.zeros(n_params, dtype=dtype)

    def __setstate__(self, state):
        state.pop("t", None)   # an unused counter that cymlp 0.1.0 kept and saved
        self.__dict__.update(state)

    def step_rule(self):
        return _plans.sgd_rule(self.velocity, self.momentum, self.nesterov)

    def iteration_ends(self, time_step):
        """Apply the 'invscaling' schedule after an epoch (or count the epoch
        of the 'cosine' schedule)."""
        if self.cosine_period is not None:
            self.epoch += 1
        elif self.lr_schedule == "invscaling":
            try:
                scale = (time_step + 1) ** self.power_t
            except OverflowError:  # a huge power_t: the rate is 0
                scale = math.inf
            self.learning_rate = float(self.learning_rate_init) / scale

    def trigger_stopping(self, msg, verbose):
        """True to stop; with 'adaptive', divide the learning rate by 5 instead."""
        if self.lr_schedule != "adaptive":
            return super().trigger_stopping(msg, verbose)
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + " Setting learning rate to %f" % self.learning_rate)
        return False


class AdamState(BaseOptimizer):
    """First and second moments and the step counter of Adam."""

    def __init__(self, n_params, dtype, learning_rate_init, beta_1, beta_2, epsilon):
        super().__init__(learning_rate_init)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.moments = np.zeros((2, n_params), dtype=dtype)
        self.t = np.zeros(1, dtype=np.int64)   # steps taken (the kernel counts them)

    def step_rule(self):
        return _plans.adam_rule(self.moments[0], self.moments[1], self.t, self.beta_1,
                                self.beta_2, self.epsilon)

    def epoch_learning_rate(self):
        """Adam's base rate; the kernel applies the bias corrections per step."""
        return self.base_learning_rate()

    def iteration_ends(self, time_step):
        """Record the step size of the last step, as scikit-learn reports it."""
        t = int(self.t[0])
        if t:
            self.learning_rate = (
                self.base_learning_rate()
                * math.sqrt(1 - self.beta_2**t)
                / (1 - self.beta_1**t)
            )
        if self.cosine_period is not None:
            self.epoch += 1


def make_optimizer(estimator, n_params, dtype):
    """A fresh optimizer state for the estimator's solver; with the 'cosine'
    schedule, at the epoch the network has reached (``loss_curve_``)."""
    if estimator.solver == "sgd":
        optimizer = SGDState(
            n_params, dtype, estimator.learning_rate_init, estimator.learning_rate,
            estimator.momentum, estimator.nesterovs_momentum, estimator.power_t,
        )
    else:
        optimizer = AdamState(
            n_params, dtype, estimator.learning_rate_init, estimator.beta_1,
            estimator.beta_2, estimator.epsilon,
        )
    if estimator.learning_rate == "cosine":
        optimizer.use_cosine(estimator.max_iter,
                             len(getattr(estimator, "loss_curve_", None) or ()))
    return optimizer
