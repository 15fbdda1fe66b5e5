"""The optimizers: their steps against scikit-learn's, and their state between epochs.

The SGD and Adam steps over the flat buffer (``_optimizers``) against
scikit-learn's ``SGDOptimizer`` and ``AdamOptimizer``; the optimizer states
(``_optim``): learning-rate schedules, the rules that stop or slow training,
the step rules they give the kernels, and their saved form.
"""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer

from cymlp import _optimizers
from cymlp._optim import AdamState, SGDState


# --------------------------------------------------------------------------
# Optimizer steps against scikit-learn's optimizers
# --------------------------------------------------------------------------


def _split(flat, sizes):
    return np.split(flat, np.cumsum(sizes)[:-1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_update_matches_sklearn(momentum, nesterov, dtype):
    rng = np.random.RandomState(8)
    sizes = [12, 6, 3]
    params = rng.randn(sum(sizes)).astype(dtype)
    ref_params = [p.copy() for p in _split(params.copy(), sizes)]
    velocity = np.zeros_like(params)
    lr = 0.05
    opt = SGDOptimizer(ref_params, learning_rate_init=lr, lr_schedule="constant",
                       momentum=momentum, nesterov=nesterov)
    for _ in range(5):
        grads = rng.randn(params.size).astype(dtype)
        opt.update_params(ref_params, _split(grads, sizes))
        _optimizers.sgd_update(params, grads, velocity, lr, momentum, nesterov)
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    assert_allclose(params, np.concatenate(ref_params), rtol=rtol, atol=rtol)
    assert_allclose(velocity, np.concatenate(opt.velocities), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_update_matches_sklearn(dtype):
    rng = np.random.RandomState(9)
    sizes = [10, 5, 2]
    params = rng.randn(sum(sizes)).astype(dtype)
    ref_params = [p.copy() for p in _split(params.copy(), sizes)]
    m, v = np.zeros_like(params), np.zeros_like(params)
    lr, b1, b2, eps = 0.01, 0.8, 0.99, 1e-7
    opt = AdamOptimizer(ref_params, lr, b1, b2, eps)
    for t in range(1, 8):
        grads = rng.randn(params.size).astype(dtype)
        opt.update_params(ref_params, _split(grads, sizes))
        step = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        _optimizers.adam_update(params, grads, m, v, step, b1, b2, eps)
    rtol = 1e-5 if dtype == np.float32 else 1e-14
    assert_allclose(params, np.concatenate(ref_params), rtol=rtol, atol=rtol)
    assert_allclose(m, np.concatenate(opt.ms), rtol=rtol, atol=rtol)
    assert_allclose(v, np.concatenate(opt.vs), rtol=rtol, atol=rtol)


def test_optimizer_length_errors():
    a, b = np.zeros(3), np.zeros(4)
    with pytest.raises(ValueError):
        _optimizers.sgd_update(a, b, a.copy(), 0.1, 0.9, True)
    with pytest.raises(ValueError):
        _optimizers.adam_update(a, a.copy(), a.copy(), b, 0.1, 0.9, 0.999, 1e-8)


# --------------------------------------------------------------------------
# The optimizer states: schedules and stopping rules, as scikit-learn's
# --------------------------------------------------------------------------


@pytest.mark.parametrize("schedule", ["constant", "invscaling", "adaptive"])
def test_sgd_schedules_follow_sklearn(schedule):
    params = [np.zeros(3)]
    ours = SGDState(3, np.float64, 0.1, schedule, 0.9, True, 0.5)
    ref = SGDOptimizer(params, learning_rate_init=0.1, lr_schedule=schedule,
                       momentum=0.9, nesterov=True, power_t=0.5)
    for t in (30, 60, 90):
        ours.iteration_ends(t)
        ref.iteration_ends(t)
        assert ours.epoch_learning_rate() == ref.learning_rate
    for _ in range(3):   # 'adaptive' divides by 5 instead of stopping
        assert ours.trigger_stopping("msg", False) == ref.trigger_stopping("msg", False)
        assert ours.learning_rate == ref.learning_rate


def test_adaptive_sgd_stops_once_the_rate_is_tiny(capsys):
    ours = SGDState(3, np.float64, 1e-6, "adaptive", 0.9, True, 0.5)
    assert ours.trigger_stopping("No progress.", True)
    assert "Learning rate too small. Stopping." in capsys.readouterr().out


def test_adam_reports_its_last_step_size_like_sklearn():
    ours = AdamState(3, np.float64, 0.01, 0.9, 0.999, 1e-8)
    ref = AdamOptimizer([np.zeros(3)], 0.01, 0.9, 0.999, 1e-8)
    for steps in (1, 5, 12):
        while ref.t < steps:     # scikit-learn records the rate at each step
            ref.update_params([np.zeros(3)], [np.ones(3)])
        ours.t[0] = steps        # the kernel counts the steps; the epoch's end reads them
        ours.iteration_ends(0)
        assert ours.learning_rate == ref.learning_rate
    # the kernels apply the bias corrections per step, from the base rate
    assert ours.epoch_learning_rate() == 0.01
    assert ours.trigger_stopping("msg", False)


def test_step_rules_hold_the_state_buffers():
    sgd = SGDState(4, np.float32, 0.1, "constant", 0.9, False, 0.5)
    adam = AdamState(4, np.float64, 0.1, 0.9, 0.999, 1e-8)
    assert type(sgd.step_rule()).__name__ == "StepRuleBox"
    assert type(adam.step_rule()).__name__ == "StepRuleBox"
    assert not hasattr(sgd, "t")    # SGD has no step counter


def test_sgd_state_saved_by_0_1_0_loads_without_its_unused_counter():
    state = SGDState(2, np.float64, 0.1, "constant", 0.9, True, 0.5)
    old = state.__dict__ | {"t": np.zeros(1, dtype=np.int64)}   # what 0.1.0 saved
    loaded = SGDState.__new__(SGDState)
    loaded.__setstate__(dict(old))
    assert not hasattr(loaded, "t") and loaded.momentum == 0.9
    assert pickle.loads(pickle.dumps(loaded)).__dict__.keys() == state.__dict__.keys()
