"""Small deterministic datasets of each target kind, shared by the tests."""

import numpy as np

KINDS = ("binary", "multiclass", "multilabel", "regression", "multi-output", "poisson")


def make(kind="multiclass", n=120, d=6, seed=0):
    """(X, y) of ``n`` rows and ``d`` Gaussian features with a target of ``kind``.

    Classes and targets depend on the first three features, so that a small
    network learns them in a few epochs.
    """
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    if kind == "multiclass":
        y = np.digitize(X[:, 0] + 0.5 * X[:, 1], [-0.5, 0.5])
    elif kind == "binary":
        y = (X[:, 0] > 0).astype(int)
    elif kind == "multilabel":
        y = np.c_[X[:, 0] > 0, X[:, 1] > 0, X[:, 0] + X[:, 2] > 0].astype(int)
    elif kind == "multi-output":
        y = X[:, :3] @ rng.randn(3, 3)
    elif kind == "poisson":
        y = rng.poisson(np.exp(0.3 * X[:, 0])).astype(float)
    elif kind == "regression":
        y = X[:, 0] - 2 * X[:, 1] + 0.1 * rng.randn(n)
    else:
        raise ValueError(f"unknown kind {kind!r}; choose from {KINDS}")
    return X, y


def problem(kind, n=300, d=8, seed=0):
    """A 3-class classification (``kind`` 'classifier') or a standardized
    regression (else) from scikit-learn's makers, 5 informative features."""
    from sklearn.datasets import make_classification, make_regression

    if kind == "classifier":
        return make_classification(n, d, n_informative=5, n_classes=3, random_state=seed)
    X, y = make_regression(n, d, n_informative=5, noise=5.0, random_state=seed)
    return X, (y - y.mean()) / y.std()
