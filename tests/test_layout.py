"""The network's layout (``_layout.Layout``) and one fit's scratch buffers.

The flat parameter buffer in scikit-learn's ``_pack`` order, the views that
become the fitted arrays, where the extras sit, and the shapes refused.
(The size limits of layouts and workspaces are in test_boundary.py.)
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from cymlp import _layout


def test_layout_offsets_and_views():
    units = [4, 5, 3, 2]
    layout = _layout.Layout(units, ["tanh", "relu"], "log_loss")
    n_coef = 4 * 5 + 5 * 3 + 3 * 2
    assert layout.n_coef == n_coef
    assert layout.n_params == n_coef + 5 + 3 + 2
    params = np.arange(layout.n_params, dtype=np.float64)
    coefs, intercepts = layout.views(params)
    assert [c.shape for c in coefs] == [(4, 5), (5, 3), (3, 2)]
    assert [b.shape for b in intercepts] == [(5,), (3,), (2,)]
    # scikit-learn's _pack order: every weight matrix, then every bias
    packed = np.hstack([a.ravel() for a in coefs + intercepts])
    assert_allclose(packed, params)
    for view in coefs + intercepts:
        assert np.shares_memory(view, params)
    coefs[1][0, 0] = -1.0
    assert params[20] == -1.0


def test_layout_rejects_bad_shapes():
    with pytest.raises(ValueError):
        _layout.Layout([3], [], "squared_error")
    with pytest.raises(ValueError):
        _layout.Layout([3, 4, 1], [], "squared_error")
    with pytest.raises(ValueError, match="unknown output head 'hinge'"):
        _layout.Layout([3, 4, 1], ["relu"], "hinge")


def test_extras_follow_the_weights_and_biases():
    # per hidden layer: PReLU slopes, then batch-norm scale, then shift
    layout = _layout.Layout([3, 4, 5, 2], ["prelu", "tanh"], "squared_error", 0.01,
                            [0.0, 0.0], [True, True])
    n_weights_biases = 3 * 4 + 4 * 5 + 5 * 2 + 4 + 5 + 2
    assert layout.n_params == n_weights_biases + 4 + 2 * (4 + 5)
    assert layout.n_running == 2 * (4 + 5)
    params = np.arange(layout.n_params, dtype=np.float64)
    slopes, scales, shifts = layout.extra_views(params)
    assert slopes[1] is None and slopes[0][0] == n_weights_biases
    assert scales[0][0] == n_weights_biases + 4 and shifts[1][-1] == layout.n_params - 1
    running = np.zeros(layout.n_running)
    layout.init_extras(params, running)
    assert_array_equal(slopes[0], 0.25)
    assert all((s == 1).all() for s in scales) and all((s == 0).all() for s in shifts)
    means, variances = layout.running_views(running)
    assert all((m == 0).all() for m in means) and all((v == 1).all() for v in variances)


def test_workspace_is_sized_for_its_layout():
    layout = _layout.Layout([3, 4, 2], ["relu"], "log_loss")
    ws = _layout.Workspace(layout, 7, np.float32, True)
    assert ws.capacity == 7 and ws.itemsize == 4 and ws.layout is layout
