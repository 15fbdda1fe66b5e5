"""The inline epoch shuffle draws exactly what RandomState.shuffle draws."""

import numpy as np
import pytest

from cymlp import _shuffle


@pytest.mark.parametrize("n", [0, 1, 2, 3, 624, 625, 2000, 10_007])
@pytest.mark.parametrize("warmup", [0, 1, 623, 624, 1000])
def test_same_permutation_and_same_state_after(n, warmup):
    ours, theirs = np.random.RandomState(n + warmup), np.random.RandomState(n + warmup)
    # random_sample draws two 32-bit words each: the position in the block
    # of 624 words ends anywhere, including exactly at the end (624 draws).
    ours.random_sample(warmup // 2)
    theirs.random_sample(warmup // 2)
    ours.randint(2**31, size=warmup % 2)
    theirs.randint(2**31, size=warmup % 2)
    shuffle = _shuffle.shuffler_for(ours)
    assert shuffle != ours.shuffle  # the fast path is in use
    x = np.arange(n, dtype=np.intp)
    y = x.copy()
    for _ in range(3):  # the permutation is applied to the previous order
        shuffle(x)
        theirs.shuffle(y)
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(ours.get_state()[1], theirs.get_state()[1])
    assert ours.get_state()[2] == theirs.get_state()[2]
    assert ours.random_sample() == theirs.random_sample()


def test_other_generators_use_their_own_shuffle():
    class MyRandomState(np.random.RandomState):
        pass

    for rs in (MyRandomState(0), np.random.RandomState(np.random.PCG64(0))):
        assert _shuffle.shuffler_for(rs) == rs.shuffle


def test_fast_path_self_test_passes_here():
    # If numpy's MT19937 state layout ever changes, the self-test fails and
    # cymlp silently falls back to RandomState.shuffle; this makes it loud.
    assert _shuffle._fast_path_agrees()


def test_rejects_a_position_outside_the_block():
    state = np.zeros(625, dtype=np.uint32)
    state[624] = 700
    with pytest.raises(ValueError, match="MT19937"):
        _shuffle._shuffle_indices(state.ctypes.data, np.arange(5, dtype=np.intp))
