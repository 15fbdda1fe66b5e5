"""scikit-learn's estimator API checks, every one of which must pass.

Small ``max_iter`` keeps the checks fast; the ConvergenceWarnings this causes
are expected and silenced. One instance per solver (adam, lbfgs, sgd) so that
each code path goes through the checks.
"""

import warnings

import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from cymlp import MLPClassifier, MLPRegressor

ESTIMATORS = [
    MLPClassifier(max_iter=100),
    MLPRegressor(max_iter=100),
    MLPClassifier(solver="lbfgs", max_iter=100, hidden_layer_sizes=(10,)),
    MLPRegressor(solver="lbfgs", max_iter=100, hidden_layer_sizes=(10,)),
    MLPClassifier(solver="sgd", max_iter=50, learning_rate_init=0.01, random_state=0),
    MLPRegressor(solver="sgd", max_iter=50, learning_rate_init=0.01, random_state=0),
]


@pytest.fixture(autouse=True)
def _no_convergence_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
