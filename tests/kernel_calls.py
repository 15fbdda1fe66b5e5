"""The kernels' entry points in one call each, for the kernel-level tests.

The network's entry points run what ``_plans`` checked and bound once per fit
(a ``TrainingSet``, a step rule, an ``EpochPlan`` or ``GradientPlan``); the
tests call them through these helpers, which build the plans the way the
solvers do. ``network`` is one SIMD level's module (default: the chosen one).
"""

import numpy as np

from cymlp import _dispatch, _plans


def _n_rows(X):
    return len(X[2]) - 1 if isinstance(X, tuple) else X.shape[0]


def loss_and_gradient(layout, params, X, Y, sw=None, alpha=0.0, delta_scale=1.0,
                      running=None, running_momentum=0.0, network=None):
    """(loss, gradient, per-layer gradient norms) of the full batch at ``params``."""
    network = _dispatch.network if network is None else network
    data = _plans.TrainingSet(layout, X, Y, sw)
    norms = np.full(len(layout.views(params)[0]), -1.0)
    plan = _plans.GradientPlan(layout, data, running, alpha, delta_scale, norms)
    grads = np.zeros(layout.n_params, dtype=params.dtype)
    loss = network.loss_and_gradient(plan, params, grads, running_momentum)
    return loss, grads, norms


def sgd_epoch(layout, params, X, Y, sw=None, *, learning_rate, batch_size, order=None,
              alpha=0.0, momentum=0.0, nesterov=False, network=None):
    """One SGD epoch in place on ``params``: (loss_sum, n_batches, grad_norm sums)."""
    network = _dispatch.network if network is None else network
    data = _plans.TrainingSet(layout, X, Y, sw)
    rule = _plans.sgd_rule(np.zeros_like(params), momentum, nesterov)
    norms = np.zeros(len(layout.views(params)[0]))
    plan = _plans.EpochPlan(layout, params, None, data, rule, batch_size, alpha, order,
                            norms)
    loss_sum, n_batches = network.train_epoch(plan, learning_rate)
    return loss_sum, n_batches, norms
