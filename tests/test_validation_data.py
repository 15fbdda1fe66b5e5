"""fit(X, y, sample_weight, *, X_val, y_val, sample_weight_val): a validation set of one's own.

The names and meaning are those of scikit-learn's
``HistGradientBoostingClassifier.fit``. With ``early_stopping=True`` and a
stochastic solver, the given set replaces the ``validation_fraction`` split:
the model trains on all of X, no random draw is spent on a split (so the
epochs are those of ``early_stopping=False`` up to the stop), the scores are
the given set's, weighted by ``sample_weight_val``, and the best model is
restored. Every bad input is a ValueError that leaves the estimator as it
was. ``X_val``, ``y_val`` and ``sample_weight_val`` are routed metadata
(``set_fit_request``), and ``Pipeline(transform_input=["X_val"])``
transforms ``X_val`` through the steps before the MLP. Both estimators,
float32 and float64, dense and sparse X.
"""

import inspect
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from sklearn import config_context
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from cymlp import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def data(kind, n=240, seed=0, d=5):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    if kind == "multiclass":
        y = np.digitize(X[:, 0] + 0.5 * X[:, 1] + 0.3 * rng.randn(n), [-0.5, 0.5])
    elif kind == "binary":
        y = np.where(X[:, 0] - X[:, 2] + 0.3 * rng.randn(n) > 0, "yes", "no")
    elif kind == "multilabel":
        y = np.c_[X[:, 0] > 0, X[:, 1] > 0, X[:, 0] + X[:, 2] > 0].astype(int)
    elif kind == "multi-output":
        y = X[:, :3] @ rng.randn(3, 2) + 0.1 * rng.randn(n, 2)
    else:
        y = X[:, 0] - 2 * X[:, 1] + 0.3 * rng.randn(n)
    return X, y


KINDS = {"binary": MLPClassifier, "multiclass": MLPClassifier,
         "multilabel": MLPClassifier, "regression": MLPRegressor,
         "multi-output": MLPRegressor}
PARAMS = dict(hidden_layer_sizes=(8,), learning_rate_init=0.01, max_iter=60,
              random_state=0)


def as_layout(X, dtype, sparse):
    X = X.astype(dtype)
    return sp.csr_matrix(X) if sparse else X


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_given_set_trains_on_all_of_X_with_the_epochs_of_no_early_stopping(kind, dtype,
                                                                           sparse):
    cls = KINDS[kind]
    X, y = data(kind)
    X_val, y_val = data(kind, n=80, seed=1)
    X, X_val = as_layout(X, dtype, sparse), as_layout(X_val, dtype, sparse)
    stopped = cls(early_stopping=True, n_iter_no_change=3, tol=1e-3, **PARAMS).fit(
        X, y, X_val=X_val, y_val=y_val)
    plain = cls(n_iter_no_change=PARAMS["max_iter"], **PARAMS).fit(X, y)
    n = stopped.n_iter_
    assert 3 < n < PARAMS["max_iter"]          # it did stop early
    assert stopped.t_ == n * X.shape[0]         # every epoch ran over all of X
    # no draw spent on a split: the same shuffles, the same epochs, bit for bit
    assert stopped.loss_curve_ == plain.loss_curve_[:n]
    assert len(stopped.validation_scores_) == n


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_scores_are_the_given_sets_weighted_and_the_best_model_is_kept(kind, dtype, sparse):
    cls = KINDS[kind]
    X, y = data(kind)
    X_val, y_val = data(kind, n=80, seed=1)
    sw_val = np.random.RandomState(2).uniform(0.1, 3.0, 80)
    X, X_val = as_layout(X, dtype, sparse), as_layout(X_val, dtype, sparse)
    est = cls(early_stopping=True, n_iter_no_change=5, **PARAMS).fit(
        X, y, X_val=X_val, y_val=y_val, sample_weight_val=sw_val)
    assert est.best_validation_score_ == max(est.validation_scores_)
    # the model kept is the best epoch's: its score on the given set is the best
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert_allclose(est.score(X_val, y_val, sample_weight=sw_val),
                    est.best_validation_score_, rtol=rtol)
    # the weights count: the same fit scored without them records other scores
    unweighted = cls(early_stopping=True, n_iter_no_change=5, **PARAMS).fit(
        X, y, X_val=X_val, y_val=y_val)
    k = min(len(unweighted.validation_scores_), len(est.validation_scores_))
    assert unweighted.validation_scores_[:k] != est.validation_scores_[:k]
    assert_allclose(unweighted.validation_scores_[0],
                    cls(early_stopping=True, **dict(PARAMS, max_iter=1))
                    .fit(X, y, X_val=X_val, y_val=y_val).score(X_val, y_val), rtol=rtol)


def test_the_split_is_unchanged_without_validation_data():
    # early_stopping without X_val still holds out validation_fraction of X
    X, y = data("multiclass")
    est = MLPClassifier(early_stopping=True, validation_fraction=0.25, **PARAMS).fit(X, y)
    assert est.t_ == est.n_iter_ * 180


# --------------------------------------------------------------------------
# Bad input: a clear ValueError, the estimator left as it was
# --------------------------------------------------------------------------

def bad_inputs(kind):
    """(name, constructor changes, fit keyword arguments, error match) for ``kind``."""
    X_val, y_val = data(kind, n=30, seed=3)
    nan_X, inf_X = X_val.copy(), X_val.copy()
    nan_X[3, 1], inf_X[4, 0] = np.nan, np.inf
    cases = [
        ("X_val alone", {}, dict(X_val=X_val), "y_val was not provided"),
        ("y_val alone", {}, dict(y_val=y_val), "X_val was not provided"),
        ("weights alone", {}, dict(sample_weight_val=np.ones(30)), "X_val and y_val were not"),
        ("no early stopping", dict(early_stopping=False), dict(X_val=X_val, y_val=y_val),
         "early_stopping is False"),
        ("lbfgs", dict(solver="lbfgs"), dict(X_val=X_val, y_val=y_val), "solver='lbfgs'"),
        ("features", {}, dict(X_val=X_val[:, :3], y_val=y_val), "3 features"),
        ("NaN", {}, dict(X_val=nan_X, y_val=y_val), "NaN"),
        ("inf", {}, dict(X_val=inf_X, y_val=y_val), "infinity"),
        ("lengths", {}, dict(X_val=X_val, y_val=y_val[:20]), "inconsistent numbers"),
        ("weight length", {}, dict(X_val=X_val, y_val=y_val, sample_weight_val=np.ones(29)),
         "sample_weight"),
        ("negative weight", {},
         dict(X_val=X_val, y_val=y_val, sample_weight_val=-np.ones(30)), "Negative values"),
        ("zero weights", {},
         dict(X_val=X_val, y_val=y_val, sample_weight_val=np.zeros(30)), "non-zero"),
    ]
    if kind == "multiclass":
        cases.append(("unknown class", {}, dict(X_val=X_val, y_val=np.append(y_val[:-1], 7)),
                      "classes \\[7\\] that the model does not know"))
    if kind == "binary":
        cases.append(("unknown label", {}, dict(X_val=X_val, y_val=np.append(y_val[:-1], "maybe")),
                      "does not know"))
    if kind == "multilabel":
        cases.append(("fewer labels", {}, dict(X_val=X_val, y_val=y_val[:, :2]), "classes"))
    if kind == "regression":
        nan_y = y_val.copy()
        nan_y[2] = np.nan
        cases.append(("NaN target", {}, dict(X_val=X_val, y_val=nan_y), "NaN"))
        cases.append(("outputs", {}, dict(X_val=X_val, y_val=np.c_[y_val, y_val]),
                      "2 outputs, but the model has 1"))
        cases.append(("poisson", dict(loss="poisson"), dict(X_val=X_val, y_val=-np.abs(y_val)),
                      "negative"))
    return cases


CASES = [(kind, *case) for kind in ("binary", "multiclass", "multilabel", "regression")
         for case in bad_inputs(kind)]


@pytest.mark.parametrize("kind, name, changes, fit_kwargs, match", CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_bad_validation_data_is_refused_and_nothing_changes(kind, name, changes, fit_kwargs,
                                                            match):
    cls = KINDS[kind]
    X, y = data(kind)
    if changes.get("loss") == "poisson":
        y = np.abs(y)
    params = dict(PARAMS, early_stopping=True, max_iter=3)
    params.update(changes)
    fresh = cls(**params)
    with pytest.raises(ValueError, match=match):
        fresh.fit(X, y, **fit_kwargs)
    assert pickle.dumps(fresh) == pickle.dumps(cls(**params))   # still unfitted
    if changes:
        return
    # a fitted model keeps everything: weights, curves, optimizer, random state
    fitted = cls(**dict(params, warm_start=True)).fit(X, y)
    before, coefs = pickle.dumps(fitted), fitted.coefs_[0]
    with pytest.raises(ValueError, match=match):
        fitted.fit(X, y, **fit_kwargs)
    assert pickle.dumps(fitted) == before and fitted.coefs_[0] is coefs


@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # the overflow
def test_float64_X_val_beyond_a_float32_models_range_is_refused():
    X, y = data("regression")
    est = MLPRegressor(early_stopping=True, **PARAMS)
    X_val = np.full((10, 5), 1e300)
    with pytest.raises(ValueError, match="beyond the range of float32"):
        est.fit(X.astype(np.float32), y, X_val=X_val, y_val=np.zeros(10))
    assert not hasattr(est, "coefs_")


def test_partial_fit_is_unchanged():
    for cls in (MLPClassifier, MLPRegressor):
        assert "X_val" not in inspect.signature(cls.partial_fit).parameters
        assert list(inspect.signature(cls.fit).parameters)[1:] == [
            "X", "y", "sample_weight", "X_val", "y_val", "sample_weight_val"]


# --------------------------------------------------------------------------
# Metadata routing
# --------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_validation_data_can_be_requested_as_metadata(cls):
    with config_context(enable_metadata_routing=True):
        est = cls().set_fit_request(X_val=True, y_val=True, sample_weight_val="sw_val")
        requests = est.get_metadata_routing().fit.requests
    assert requests["X_val"] is True and requests["y_val"] is True
    assert requests["sample_weight_val"] == "sw_val"


@pytest.mark.parametrize("kind", ["multiclass", "regression"])
def test_pipeline_transforms_X_val_through_the_preceding_steps(kind):
    cls = KINDS[kind]
    X, y = data(kind)
    X_val, y_val = data(kind, n=80, seed=1)
    X, X_val = 10 * X + 3, 10 * X_val + 3        # scaling matters
    sw_val = np.random.RandomState(4).uniform(0.5, 2.0, 80)
    params = dict(PARAMS, early_stopping=True, n_iter_no_change=4)
    with config_context(enable_metadata_routing=True):
        mlp = cls(**params).set_fit_request(X_val=True, y_val=True, sample_weight_val=True)
        pipe = Pipeline([("scale", StandardScaler()), ("mlp", mlp)],
                        transform_input=["X_val"])
        pipe.fit(X, y, X_val=X_val, y_val=y_val, sample_weight_val=sw_val)
    scaler = StandardScaler().fit(X)
    direct = cls(**params).fit(scaler.transform(X), y, X_val=scaler.transform(X_val),
                               y_val=y_val, sample_weight_val=sw_val)
    fitted = pipe.named_steps["mlp"]
    assert fitted.validation_scores_ == direct.validation_scores_
    assert fitted.n_iter_ == direct.n_iter_
