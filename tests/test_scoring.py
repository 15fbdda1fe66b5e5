"""``scoring``: what early stopping watches, on the split or on a given validation set.

* None is scikit-learn's: the estimator's ``score`` (accuracy, R²).
* 'loss' is the training loss without the L2 term, weighted, negated: for
  the classifier ``-log_loss(y_val, predict_proba(X_val))``, for the
  regressor the mean of its loss (half squared error, half Poisson deviance,
  absolute error, pinball loss), both checked against scikit-learn's metrics
  with a large ``alpha``, so that an L2 term left in would show.
* Any other value is a scorer resolved by ``check_scoring``.

Scoring changes what is recorded and when training stops, never the epochs
themselves (the split draws the same samples). GridSearchCV can tune it.
"""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from sklearn.metrics import (log_loss, mean_absolute_error, mean_pinball_loss,
                             mean_poisson_deviance, mean_squared_error)
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

from cymlp import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

PARAMS = dict(hidden_layer_sizes=(8,), learning_rate_init=0.01, max_iter=40,
              early_stopping=True, n_iter_no_change=5, random_state=0)
RTOL = {np.float32: 2e-5, np.float64: 1e-10}


def classification(n_classes, n, seed):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 4)
    score = X[:, 0] + 0.5 * X[:, 1] + 0.5 * rng.randn(n)
    edges = [0.0] if n_classes == 2 else [-0.5, 0.5]
    return X, np.array(["a", "b", "c"])[np.digitize(score, edges)]


def regression(n, seed, outputs=1):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 4)
    y = np.exp(0.4 * X[:, :outputs] - 0.2 * X[:, 1:2]) + 0.2 * rng.randn(n, outputs)
    return X, np.abs(y).squeeze()


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_classifier_loss_score_is_minus_log_loss(n_classes, dtype, sparse):
    X, y = classification(n_classes, 300, 0)
    X_val, y_val = classification(n_classes, 90, 1)
    sw_val = np.random.RandomState(2).uniform(0.2, 3.0, 90)
    X, X_val = X.astype(dtype), X_val.astype(dtype)
    if sparse:
        X, X_val = sp.csr_matrix(X), sp.csr_matrix(X_val)
    est = MLPClassifier(scoring="loss", alpha=1.0, **PARAMS).fit(
        X, y, X_val=X_val, y_val=y_val, sample_weight_val=sw_val)
    # the best epoch's model is kept: its validation loss is the best score
    want = -log_loss(y_val, est.predict_proba(X_val), sample_weight=sw_val)
    assert_allclose(est.best_validation_score_, want, rtol=RTOL[dtype])
    assert est.best_validation_score_ == max(est.validation_scores_)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("loss, outputs, metric", [
    ("squared_error", 1, lambda y, p, w: 0.5 * mean_squared_error(y, p, sample_weight=w)),
    ("squared_error", 2, lambda y, p, w: 0.5 * mean_squared_error(y, p, sample_weight=w)),
    ("poisson", 1, lambda y, p, w: 0.5 * mean_poisson_deviance(y, p, sample_weight=w)),
    ("absolute_error", 2, lambda y, p, w: mean_absolute_error(y, p, sample_weight=w)),
    ("quantile", 1, lambda y, p, w: mean_pinball_loss(y, p, alpha=0.8, sample_weight=w)),
])
def test_regressor_loss_score_is_minus_its_mean_loss(loss, outputs, metric, dtype):
    X, y = regression(300, 0, outputs)
    X_val, y_val = regression(90, 1, outputs)
    sw_val = np.random.RandomState(2).uniform(0.2, 3.0, 90)
    est = MLPRegressor(loss=loss, quantile=0.8, scoring="loss", alpha=1.0, **PARAMS).fit(
        X.astype(dtype), y, X_val=X_val.astype(dtype), y_val=y_val,
        sample_weight_val=sw_val)
    want = -metric(y_val, est.predict(X_val.astype(dtype)).astype(np.float64), sw_val)
    assert_allclose(est.best_validation_score_, want, rtol=RTOL[dtype] * 10)


@pytest.mark.parametrize("cls, make", [(MLPClassifier, lambda: classification(3, 300, 0)),
                                       (MLPRegressor, lambda: regression(300, 0))])
def test_scoring_on_the_split_changes_the_scores_not_the_epochs(cls, make):
    X, y = make()
    fits = {scoring: cls(scoring=scoring, **PARAMS).fit(X, y)
            for scoring in (None, "loss", "neg_mean_absolute_error" if cls is MLPRegressor
                            else "neg_log_loss")}
    curves = [fit.loss_curve_ for fit in fits.values()]
    n = min(len(c) for c in curves)
    assert all(c[:n] == curves[0][:n] for c in curves)   # the same split and shuffles
    scores = [fit.validation_scores_[:n] for fit in fits.values()]
    assert scores[0] != scores[1] and scores[1] != scores[2]
    if cls is MLPClassifier:   # neg_log_loss scores predict_proba: the same numbers
        assert_allclose(scores[2], scores[1], rtol=1e-10)
    assert max(fits["loss"].validation_scores_) < 0   # a negated loss


def test_scorer_names_and_callables_are_resolved_with_check_scoring():
    X, y = regression(300, 0)
    X_val, y_val = regression(90, 1)
    est = MLPRegressor(scoring="neg_mean_absolute_error", **PARAMS).fit(
        X, y, X_val=X_val, y_val=y_val)
    assert_allclose(est.best_validation_score_,
                    -mean_absolute_error(y_val, est.predict(X_val)), rtol=1e-12)

    def worst_error(estimator, X, y):
        return -np.max(np.abs(estimator.predict(X) - y))

    est = MLPRegressor(scoring=worst_error, **PARAMS).fit(X, y, X_val=X_val, y_val=y_val)
    assert est.best_validation_score_ == worst_error(est, X_val, y_val)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # the overflow
def test_non_finite_validation_outputs_score_nan_as_with_scikit_learns_score():
    # outputs that overflow on the validation set only (float32): a scorer
    # refuses them and the score is NaN, as the estimator's score gives; the
    # loss is infinite; the fit goes on
    X, y = regression(300, 0)
    X_val = np.ones((20, 4), dtype=np.float32)
    X_val[:, :2], X_val[:, 2:] = 3e38, -3e38
    for scoring in (None, "r2", "loss"):
        est = MLPRegressor(scoring=scoring, **dict(PARAMS, max_iter=8)).fit(
            X.astype(np.float32), y, X_val=X_val, y_val=np.arange(20.0))
        assert not np.isfinite(est.predict(X_val)).any()
        assert est.n_iter_ == 8, scoring
        scores = np.array(est.validation_scores_)
        if scoring == "loss":
            assert (scores == -np.inf).all()
        else:
            assert np.isnan(scores).all(), scoring


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_bad_scoring_is_refused_and_the_estimator_stays_unfitted(cls):
    X, y = classification(3, 100, 0) if cls is MLPClassifier else regression(100, 0)
    est = cls(scoring="no_such_scorer", **PARAMS)
    with pytest.raises(ValueError, match="no_such_scorer"):
        est.fit(X, y)
    assert pickle.dumps(est) == pickle.dumps(cls(scoring="no_such_scorer", **PARAMS))
    with pytest.raises(InvalidParameterError, match="scoring"):
        cls(scoring=3).fit(X, y)
    # like HistGradientBoosting's, scoring is only read by early stopping
    cls(scoring="no_such_scorer", **dict(PARAMS, early_stopping=False)).fit(X, y)


def test_grid_search_can_tune_scoring():
    X, y = classification(3, 240, 0)
    search = GridSearchCV(MLPClassifier(**PARAMS),
                          {"scoring": [None, "loss", "neg_log_loss"]}, cv=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 3
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_params_["scoring"] in (None, "loss", "neg_log_loss")
