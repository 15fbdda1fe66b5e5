"""Shared helpers about fitted models: numpy's forward pass, equal models, fixed epochs."""

import numpy as np
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.neural_network._base import ACTIVATIONS


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
