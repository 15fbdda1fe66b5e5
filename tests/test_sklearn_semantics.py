"""scikit-learn 1.9.1's MLP semantics, where a re-implementation easily departs.

Each test runs scikit-learn and cymlp side by side on the same data and seed:
early stopping through a diverging loss, in-place updates of ``coefs_`` and
``intercepts_``, the optimizer's hyperparameters fixed between ``partial_fit``
calls, exception types, the types of the loss attributes. The rest covers
cymlp's own rules that scikit-learn does not have (batch-norm statistics of
the best epoch, class weights for multilabel y) and the deliberate
differences the README lists.
"""

import copy
import warnings

import numpy as np
import pytest
import sklearn.neural_network as skn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import (
    load_iris,
    make_classification,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning

from cymlp import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ESTIMATORS = {"classifier": (MLPClassifier, skn.MLPClassifier),
              "regressor": (MLPRegressor, skn.MLPRegressor)}


def classification():
    return make_classification(n_samples=120, n_features=6, n_informative=4,
                               n_classes=3, random_state=0)


def regression():
    X, y = make_regression(n_samples=120, n_features=6, noise=1.0, random_state=0)
    return X, y / 100


def data(kind):
    return classification() if kind == "classifier" else regression()


def both(kind, **params):
    """(cymlp, scikit-learn) estimators of one kind with the same parameters."""
    ours, theirs = ESTIMATORS[kind]
    return ours(**params), theirs(**params)


def weights(est):
    return est.coefs_ + est.intercepts_


def assert_same_weights(est, ref):
    for a, b in zip(weights(est), weights(ref), strict=True):
        assert_allclose(a, b, rtol=1e-10, atol=1e-13)


# --------------------------------------------------------------------------
# Early stopping through a diverging loss (scikit-learn issue 29504)
# --------------------------------------------------------------------------

DIVERGING = dict(hidden_layer_sizes=100, activation="identity", solver="sgd",
                 learning_rate_init=1, max_iter=20, early_stopping=True,
                 random_state=0)


def test_early_stopping_through_a_diverging_loss_keeps_the_best_weights():
    X, y = load_iris(return_X_y=True)
    est, ref = both("regressor", **DIVERGING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scikit-learn's overflow
        ref.fit(X, y)
    est.fit(X, y)  # does not raise
    # the same epochs, scores (NaN once the outputs overflow) and best model
    assert est.n_iter_ == ref.n_iter_ == 20
    assert np.isnan(ref.validation_scores_[-1])
    assert_allclose(est.validation_scores_, ref.validation_scores_, rtol=1e-10)
    assert all(isinstance(s, float) for s in est.validation_scores_)
    # the same finite losses; once the outputs overflow, both non-finite from
    # the same epoch on (inf or NaN: which one depends on where the BLAS's
    # sums meet inf - inf, so it differs between CPUs)
    est_curve, ref_curve = np.asarray(est.loss_curve_), np.asarray(ref.loss_curve_)
    finite = np.isfinite(ref_curve)
    assert_array_equal(np.isfinite(est_curve), finite)
    assert 0 < finite.sum() < len(finite)
    assert_allclose(est_curve[finite], ref_curve[finite], rtol=1e-10)
    assert np.isnan(est.loss_) and est.best_loss_ is None
    assert_allclose(est.best_validation_score_, ref.best_validation_score_, rtol=1e-12)
    assert_same_weights(est, ref)
    assert np.isfinite(est.predict(X)).all()


def test_diverging_loss_without_early_stopping_still_raises_and_changes_nothing():
    X, y = load_iris(return_X_y=True)
    est = MLPRegressor(**dict(DIVERGING, early_stopping=False))
    with pytest.raises(ValueError, match="non-finite parameter weights"):
        est.fit(X, y)
    assert not hasattr(est, "coefs_")


def test_early_stopping_returns_the_best_epochs_batch_norm_statistics():
    # The model early stopping returns must be the one that scored
    # best_validation_score_: the weights AND the running statistics batch
    # norm predicts with. A fit stopped at the best epoch is that model.
    X, y = classification()
    params = dict(hidden_layer_sizes=(8,), batch_norm=True, early_stopping=True,
                  n_iter_no_change=3, learning_rate_init=0.05, max_iter=100,
                  random_state=0)
    full = MLPClassifier(**params).fit(X, y)
    best_epoch = int(np.argmax(full.validation_scores_)) + 1
    assert best_epoch < full.n_iter_, "the last epoch must not be the best one"
    at_best = MLPClassifier(**dict(params, max_iter=best_epoch)).fit(X, y)
    assert at_best.best_validation_score_ == full.best_validation_score_
    assert_array_equal(full._network_state.params_copy(), at_best._network_state.params_copy())
    for a, b in zip(full.batch_norm_running_mean_ + full.batch_norm_running_var_,
                    at_best.batch_norm_running_mean_ + at_best.batch_norm_running_var_):
        assert_array_equal(a, b)
    assert_array_equal(full.predict_proba(X), at_best.predict_proba(X))


# --------------------------------------------------------------------------
# coefs_ and intercepts_ are updated in place when training resumes
# --------------------------------------------------------------------------

def held_arrays(est):
    return list(est.coefs_), list(est.intercepts_)


def assert_held_arrays_are_live(held, est):
    coefs, intercepts = held
    assert all(a is b for a, b in zip(coefs, est.coefs_, strict=True))
    assert all(a is b for a, b in zip(intercepts, est.intercepts_, strict=True))


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_partial_fit_updates_the_arrays_a_user_holds_like_sklearn(solver):
    X, y = regression()
    est, ref = both("regressor", hidden_layer_sizes=(5,), solver=solver,
                    batch_size=20, random_state=0)
    est.partial_fit(X, y)
    ref.partial_fit(X, y)
    held, held_ref = held_arrays(est), held_arrays(ref)
    before = [a.copy() for a in held[0]]
    est.partial_fit(X, y)
    ref.partial_fit(X, y)
    assert_held_arrays_are_live(held_ref, ref)  # scikit-learn's behaviour
    assert_held_arrays_are_live(held, est)
    assert not np.array_equal(held[0][0], before[0])
    assert_same_weights(est, ref)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_warm_started_fit_updates_the_arrays_a_user_holds_like_sklearn(kind):
    X, y = data(kind)
    est, ref = both(kind, hidden_layer_sizes=(5,), warm_start=True, max_iter=3,
                    random_state=0)
    est.fit(X, y)
    ref.fit(X, y)
    held, held_ref = held_arrays(est), held_arrays(ref)
    est.fit(X, y)
    ref.fit(X, y)
    assert_held_arrays_are_live(held_ref, ref)
    assert_held_arrays_are_live(held, est)
    assert_same_weights(est, ref)


def test_failed_partial_fit_puts_the_held_arrays_back():
    X, y = regression()
    est = MLPRegressor(hidden_layer_sizes=(5,), solver="sgd", batch_size=10,
                       random_state=0)
    est.partial_fit(X, y)
    held = held_arrays(est)
    values = [a.copy() for a in held[0] + held[1]]
    curve = est.loss_curve_
    with pytest.raises(ValueError, match="non-finite parameter weights"):
        est.partial_fit(X * 1e300, y * 1e300)
    assert_held_arrays_are_live(held, est)
    for a, b in zip(held[0] + held[1], values):
        assert_array_equal(a, b)
    assert est.loss_curve_ is curve and len(curve) == 1


def test_interrupted_warm_started_fit_keeps_the_live_arrays(fit_interrupted):
    # Ctrl-C keeps the last finished batch's weights, in the same arrays.
    # Counted in batches, not seconds: the signal goes once the warm-started
    # fit's own optimizer (a new one) has taken 3 Adam steps.
    X, y = make_regression(n_samples=20000, n_features=20, random_state=0)
    est = MLPRegressor(hidden_layer_sizes=(64,), solver="adam", batch_size=1,
                       learning_rate_init=1e-4, warm_start=True, max_iter=1,
                       random_state=0).fit(X[:10], y[:10])
    held = held_arrays(est)
    before = [a.copy() for a in held[0] + held[1]]
    first = est._optimizer

    def steps():
        optimizer = est._optimizer
        return -1 if optimizer is first else int(optimizer.t[0])

    result = fit_interrupted(est.set_params(max_iter=50), X, y / 100,
                             when=lambda: steps() >= 3, at_signal=steps)
    assert "Training interrupted by user." in result.messages
    k = steps()
    assert result.at_signal <= k <= result.at_signal + 1  # stopped within a batch
    assert k < len(y) and est.n_iter_ == 0  # inside the first epoch
    assert_held_arrays_are_live(held, est)
    assert all(not np.array_equal(a, b) for a, b in zip(held[0] + held[1], before))
    assert np.isfinite(est.predict(X[:5])).all()


# --------------------------------------------------------------------------
# set_params between partial_fit calls: the optimizer keeps its settings
# --------------------------------------------------------------------------

@pytest.mark.parametrize("solver,change", [
    ("sgd", {"momentum": 0.1}),
    ("sgd", {"nesterovs_momentum": False}),
    ("sgd", {"learning_rate_init": 0.05}),
    ("adam", {"beta_1": 0.5}),
    ("adam", {"beta_2": 0.9}),
    ("adam", {"epsilon": 1e-2}),
    ("adam", {"learning_rate_init": 0.05}),
])
def test_set_params_between_partial_fits_follows_sklearn(solver, change):
    X, y = regression()
    params = dict(hidden_layer_sizes=(5,), solver=solver, batch_size=20,
                  learning_rate_init=0.01, random_state=0)
    est, ref = both("regressor", **params)
    original = {name: est.get_params()[name] for name in change}
    for model in (est, ref):
        model.partial_fit(X, y)
        model.set_params(**change)
        model.partial_fit(X, y)
    assert_same_weights(est, ref)
    # the change is real: a warm-started fit (a new optimizer) applies it
    unchanged = copy.deepcopy(est).set_params(**original)
    for model in (est, ref, unchanged):
        model.set_params(warm_start=True, max_iter=2).fit(X, y)
    assert_same_weights(est, ref)
    assert not np.array_equal(est._network_state.params_copy(), unchanged._network_state.params_copy())


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_every_sklearn_parameter_with_its_default(kind):
    ours, theirs = both(kind)
    defaults, sklearn_defaults = ours.get_params(), theirs.get_params()
    assert sklearn_defaults.keys() <= defaults.keys()
    assert {name: defaults[name] for name in sklearn_defaults} == sklearn_defaults


# --------------------------------------------------------------------------
# Exception types and the types of the fitted attributes
# --------------------------------------------------------------------------

@pytest.mark.parametrize("sizes", [(5.0,), (5.5,), np.array([3.0]), ("5",), (None,),
                                   ([3],), (True,), (False,), (0, 5.0), (-1,)])
def test_bad_hidden_layer_sizes_raise_sklearns_exception_type(sizes):
    X, y = classification()
    errors = []
    for cls in (MLPClassifier, skn.MLPClassifier):
        with pytest.raises(Exception) as info:
            cls(hidden_layer_sizes=sizes, max_iter=2).fit(X, y)
        errors.append(info.value)
    ours, theirs = errors
    for kind in (TypeError, ValueError):
        assert isinstance(ours, kind) == isinstance(theirs, kind), (ours, theirs)
    assert "hidden_layer_sizes" in str(ours)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_loss_attributes_have_sklearns_types(solver, dtype):
    X, y = classification()
    est, ref = both("classifier", hidden_layer_sizes=(5,), solver=solver, max_iter=3,
                    random_state=0)
    for model in (est, ref):
        model.fit(X.astype(dtype), y)
    for name in ("loss_", "best_loss_", "best_validation_score_"):
        assert type(getattr(est, name, None)) is type(getattr(ref, name, None)), name
    if solver != "lbfgs":
        assert [type(v) for v in est.loss_curve_] == [type(v) for v in ref.loss_curve_]
    # np.float64, but scipy >= 1.18 keeps scikit-learn's float32 log loss in float32
    assert type(est.loss_) in (np.float64, np.dtype(dtype).type)


# --------------------------------------------------------------------------
# class_weight with multilabel y: one dict per label
# --------------------------------------------------------------------------

def test_class_weight_list_of_dicts_for_multilabel_y():
    X, Y = make_multilabel_classification(n_samples=80, n_features=5, n_classes=3,
                                          random_state=0)
    class_weight = [{0: 1.0, 1: 3.0}, {0: 2.0, 1: 1.0}, {0: 1.0, 1: 0.5}]
    params = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    est = MLPClassifier(class_weight=class_weight, **params).fit(X, Y)
    # the weights of a sample's labels multiply, as sample_weight
    sample_weight = np.prod([np.where(Y[:, j] == 1, w[1], w[0])
                             for j, w in enumerate(class_weight)], axis=0)
    ref = MLPClassifier(**params).fit(X, Y, sample_weight=sample_weight)
    assert_array_equal(est._network_state.params_copy(), ref._network_state.params_copy())
    est.partial_fit(X, Y)  # and partial_fit takes them too
    with pytest.raises(ValueError, match="list of dicts"):
        MLPClassifier(class_weight={0: 1.0, 1: 2.0}, **params).fit(X, Y)
    with pytest.raises(ValueError, match="number of outputs"):
        MLPClassifier(class_weight=class_weight[:2], **params).fit(X, Y)
    with pytest.raises(ValueError, match="one dict per label of a multilabel y"):
        MLPClassifier(class_weight=class_weight, **params).fit(X, Y[:, 0])
    with pytest.raises(ValueError, match="one dict per label of a multilabel y"):
        MLPClassifier(class_weight=["balanced"] * 3, **params).fit(X, Y)


# --------------------------------------------------------------------------
# Deliberate differences (README, "Differences from scikit-learn")
# --------------------------------------------------------------------------

# --------------------------------------------------------------------------
# Warnings: scikit-learn's text and category, filtered as scikit-learn's are
# --------------------------------------------------------------------------

def _fit_unconverged(solver, module_filter=None):
    X, y = classification()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if module_filter is not None:
            warnings.filterwarnings("ignore", category=ConvergenceWarning,
                                    module=module_filter)
        MLPClassifier(hidden_layer_sizes=(5,), solver=solver, max_iter=1).fit(X, y)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_a_filter_written_for_sklearn_or_for_cymlp_silences_the_warning(solver):
    with pytest.raises(ConvergenceWarning):  # the fit does warn
        _fit_unconverged(solver)
    with pytest.raises(ConvergenceWarning):  # a filter for another module does not apply
        _fit_unconverged(solver, module_filter="numpy")
    _fit_unconverged(solver, module_filter="sklearn")  # scikit-learn's gallery writes this
    _fit_unconverged(solver, module_filter="sklearn.neural_network")
    _fit_unconverged(solver, module_filter="cymlp")


@pytest.mark.parametrize("first, then, raises", [("ignore", "error", True),
                                                 ("error", "ignore", False)])
def test_the_latest_filter_for_either_module_decides(first, then, raises):
    # filterwarnings puts each new filter in front: the later call wins,
    # whichever of the two modules each one names
    X, y = classification()
    with warnings.catch_warnings():
        warnings.filterwarnings(first, category=ConvergenceWarning, module="cymlp")
        warnings.filterwarnings(then, category=ConvergenceWarning, module="sklearn")
        if raises:
            with pytest.raises(ConvergenceWarning):
                MLPClassifier(hidden_layer_sizes=(5,), max_iter=1).fit(X, y)
        else:
            MLPClassifier(hidden_layer_sizes=(5,), max_iter=1).fit(X, y)


def _warnings_of(fit):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit()
    return [(w.category, str(w.message)) for w in caught]


@pytest.mark.parametrize("case", ["sgd", "lbfgs", "batch_size", "column_y"])
def test_warnings_have_sklearns_category_and_text(case):
    X, y = regression()
    params = dict(hidden_layer_sizes=(5,), max_iter=2, random_state=0)
    if case == "lbfgs":
        params["solver"] = "lbfgs"
    elif case == "batch_size":
        params["batch_size"] = 1000
    elif case == "column_y":
        y = y[:, None]
    est, ref = both("regressor", **params)
    ours, theirs = _warnings_of(lambda: est.fit(X, y)), _warnings_of(lambda: ref.fit(X, y))
    assert ours == theirs and ours


@pytest.mark.parametrize("nit, status", [(3, 1), (2, 2), (3, 2)])
def test_lbfgs_warning_text_is_sklearns_for_every_status(nit, status):
    from scipy.optimize import OptimizeResult
    from sklearn.utils.optimize import _check_optimize_result

    from cymlp._warnings import check_lbfgs_result

    result = OptimizeResult(nit=nit, status=status, message="ABNORMAL: stopped")
    ours = _warnings_of(lambda: check_lbfgs_result(result, 3))
    theirs = _warnings_of(lambda: _check_optimize_result("lbfgs", result, 3))
    assert ours == theirs and len(ours) == 1
    assert check_lbfgs_result(result, 3) == _check_optimize_result("lbfgs", result, 3)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_sample_weights_with_a_negative_sum_are_refused(solver):
    X, y = regression()
    weights_ = -np.ones(len(y))
    params = dict(hidden_layer_sizes=(5,), solver=solver, max_iter=3, random_state=0)
    skn.MLPRegressor(**params).fit(X, y, sample_weight=weights_)  # scikit-learn fits
    with pytest.raises(ValueError, match="positive sum"):
        MLPRegressor(**params).fit(X, y, sample_weight=weights_)


def test_warm_start_with_another_architecture_is_refused():
    X, y = regression()
    params = dict(hidden_layer_sizes=(5,), warm_start=True, max_iter=3, random_state=0)
    est, ref = both("regressor", **params)
    for model in (est, ref):
        model.fit(X, y).set_params(hidden_layer_sizes=(7,))
    ref.fit(X, y)  # scikit-learn trains on with the old layer sizes
    assert ref.coefs_[0].shape == (6, 5)
    with pytest.raises(ValueError, match="Cannot resume training"):
        est.fit(X, y)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_stochastic_loss_curves_match_sklearn_over_100_epochs(solver):
    X, y = classification()
    est, ref = both("classifier", hidden_layer_sizes=(10,), solver=solver, max_iter=100,
                    tol=0.0, random_state=0)
    est.fit(X, y)
    ref.fit(X, y)
    assert est.n_iter_ == ref.n_iter_ == 100
    assert_allclose(est.loss_curve_, ref.loss_curve_, rtol=1e-12)


def test_partial_fit_trains_on_from_weights_set_by_hand_like_sklearn():
    # scikit-learn's test_fit sets coefs_/intercepts_ on an unfitted estimator
    # and partial_fit trains on from them; here on a network with two outputs
    X, y = regression()
    Y = np.column_stack([y, -y])
    rng = np.random.RandomState(0)
    coefs = [rng.uniform(-1, 1, (6, 4)), rng.uniform(-1, 1, (4, 2))]
    intercepts = [rng.uniform(-1, 1, 4), rng.uniform(-1, 1, 2)]
    est, ref = both("regressor", hidden_layer_sizes=(4,), solver="sgd", batch_size=20,
                    random_state=0)
    for model in (est, ref):
        model.coefs_ = [c.copy() for c in coefs]
        model.intercepts_ = [b.copy() for b in intercepts]
        model.n_layers_, model.n_outputs_, model.n_features_in_ = 3, 2, 6
        model.out_activation_, model.t_, model.loss_curve_ = "identity", 0, []
        model.best_loss_, model._no_improvement_count = np.inf, 0
    est.partial_fit(X, Y)
    ref.partial_fit(X, Y)
    assert_same_weights(est, ref)
    # weights that do not fit the network are refused, naming the problem
    bad = MLPRegressor(hidden_layer_sizes=(5,), solver="sgd")
    bad.coefs_, bad.intercepts_ = coefs, intercepts
    bad.n_features_in_ = 6
    with pytest.raises(ValueError, match="coefs_ and intercepts_ set on this unfitted"):
        bad.partial_fit(X, Y)
    assert not hasattr(bad, "_network_state")


@pytest.mark.parametrize("params", [dict(solver="lbfgs"),
                                    dict(solver="sgd", early_stopping=True)])
def test_lbfgs_and_early_stopping_also_resume_in_place(params):
    # scikit-learn binds new arrays here; cymlp writes into the held ones
    X, y = regression()
    est, ref = both("regressor", hidden_layer_sizes=(5,), warm_start=True, max_iter=3,
                    random_state=0, **params)
    est.fit(X, y)
    ref.fit(X, y)
    held, held_ref = held_arrays(est), held_arrays(ref)
    est.fit(X, y)
    ref.fit(X, y)
    assert held_ref[0][0] is not ref.coefs_[0]
    assert_held_arrays_are_live(held, est)
