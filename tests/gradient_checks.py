"""Gradients against central finite differences, for the kernel tests."""

import numpy as np
from numpy.testing import assert_allclose


def central_differences(f, x, h):
    """Gradient of the scalar f at x (any shape) by central differences."""
    x = np.array(x, dtype=np.float64)
    grad = np.empty_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        keep = flat[i]
        flat[i] = keep + h
        up = f(x)
        flat[i] = keep - h
        down = f(x)
        flat[i] = keep
        gflat[i] = (up - down) / (2 * h)
    return grad


def assert_rel_close(actual, desired, rtol=1e-6):
    """Elementwise relative error below rtol, zeros compared at rtol * max|desired|."""
    actual, desired = np.asarray(actual), np.asarray(desired)
    scale = max(np.abs(desired).max(), 1e-300)
    assert_allclose(actual, desired, rtol=rtol, atol=rtol * 1e-2 * scale)
