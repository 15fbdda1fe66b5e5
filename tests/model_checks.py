"""Shared helpers about fitted models: numpy's forward pass, equal models and
estimator states (deep comparison), the fitted arrays as views of the network,
fixed epochs."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.exceptions import NotFittedError
from sklearn.neural_network._base import ACTIVATIONS
from sklearn.utils.validation import check_is_fitted

from cymlp._state import VIEW_ATTRIBUTES


def numpy_forward(est, X, coefs=None, intercepts=None):
    """Every layer's output by plain numpy, from the estimator's weights (one
    hidden activation for every layer)."""
    coefs = est.coefs_ if coefs is None else coefs
    intercepts = est.intercepts_ if intercepts is None else intercepts
    a = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    layers = []
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        a = a @ np.asarray(W, dtype=np.float64) + np.asarray(b, dtype=np.float64)
        last = i == len(coefs) - 1
        ACTIVATIONS[est.out_activation_ if last else est.activation](a)
        layers.append(a)
    return layers


def fixed_epochs(epochs):
    """Exactly ``epochs`` epochs (no stopping on the training loss)."""
    return dict(max_iter=epochs, tol=0.0, n_iter_no_change=epochs)


def assert_same_model(a, b):
    """The same iterations and the same weights, to the last bit."""
    assert a.n_iter_ == b.n_iter_
    for x, y in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert_array_equal(x, y)


def assert_same_value(a, b, path):
    """a and b hold the same values, recursively (NaN equals NaN)."""
    if isinstance(a, np.ndarray):  # joblib may give memory-mapped fitted arrays
        assert isinstance(b, np.ndarray), f"{path}: {type(b).__name__} is not an array"
        assert a.dtype == b.dtype and a.shape == b.shape, path
        assert_array_equal(a, b, err_msg=path)
        return
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_value(x, y, f"{path}[{i}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), f"{path}: keys {sorted(a)} != {sorted(b)}"
        for key in a:
            assert_same_value(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, (float, np.floating)):
        assert (a == b) or (np.isnan(a) and np.isnan(b)), f"{path}: {a} != {b}"
    elif isinstance(a, np.random.RandomState):
        assert_same_value(a.get_state(legacy=False), b.get_state(legacy=False), path)
    elif isinstance(a, (int, str, bool, bytes, type(None), np.generic)):
        assert a == b, f"{path}: {a!r} != {b!r}"
    elif hasattr(a, "__dict__"):
        assert_same_value(vars(a), vars(b), f"{path}.__dict__")
    # other extension objects (the kernels' Layout) are derived from the rest


def assert_same_state(est, snapshot):
    """Every attribute of ``est`` holds what ``snapshot``'s holds (deep comparison)."""
    assert_same_value(vars(est), vars(snapshot), type(est).__name__)


def assert_views_of_flat(est):
    """coefs_, intercepts_ and the extras are views of the network state's two
    flat buffers, plain writable arrays that own their memory."""
    arrays = [a for name in VIEW_ATTRIBUTES for a in getattr(est, name) if a is not None]
    assert est._network_state.owns(arrays), "a fitted array is not a view of the network"
    for a in arrays:
        buffer = a.base
        assert type(buffer) is np.ndarray, f"a buffer of type {type(buffer).__name__}"
        assert buffer.base is None, "the buffers must own their memory"
        assert buffer.flags.writeable and buffer.flags.c_contiguous
    params = {id(a.base) for a in est.coefs_ + est.intercepts_}
    assert len(params) == 1, "coefs_ and intercepts_ are views of one buffer"


def assert_unfitted(est, cls, params):
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    fresh = cls(**params)
    assert_same_value(vars(est), vars(fresh), "unfitted estimator")
