"""scikit-learn's callback API (``sklearn.callback``) around cymlp fits (``_callbacks``).

One task per epoch (per L-BFGS iteration, plus the one scipy leaves open),
each ending with the model after that epoch; ScoringMonitor inside
pipelines, grid searches and across processes; ProgressBar; a callback that
returns True stops training; callbacks survive clone and pickle.
"""

import warnings

import numpy as np
import pytest
import sklearn.neural_network as skn
from numpy.testing import assert_array_equal
from sklearn.callback import ScoringMonitor
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import datasets
from cymlp import MLPClassifier, MLPRegressor
from model_checks import assert_same_model, fixed_epochs

ESTIMATORS = {"classifier": MLPClassifier, "regressor": MLPRegressor}
SKLEARN_ESTIMATORS = {"classifier": skn.MLPClassifier, "regressor": skn.MLPRegressor}
# The estimators' own score. (ScoringMonitor(scoring=None), documented as "the
# estimator's score", raises TypeError in scikit-learn 1.9.1 for every
# estimator: it feeds the single score to dict.update.)
SCORING = {"classifier": "accuracy", "regressor": "r2"}

pytestmark = pytest.mark.usefixtures("quiet")








def _iteration_rows(monitor, select="most_recent"):
    """ScoringMonitor rows of the per-epoch / per-iteration tasks."""
    logs = monitor.get_logs(select=select)
    logs = logs if isinstance(logs, list) else [logs]
    return [row for log in logs for row in log.data
            if row["task_name"] in ("epoch", "lbfgs-iter")]


def _stopping_params(solver, how):
    """fixed: exactly 12 epochs; tol: stops on the training loss before
    max_iter; validation: early_stopping on a validation split."""
    base = dict(hidden_layer_sizes=(16,), solver=solver, random_state=0,
                learning_rate_init=0.01)
    if how == "fixed":
        return {**base, **fixed_epochs(12)}
    if how == "tol":
        return {**base, "max_iter": 300, "tol": 1e-3, "n_iter_no_change": 3}
    return {**base, "max_iter": 300, "early_stopping": True, "n_iter_no_change": 3}


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("solver,how", [
    ("sgd", "fixed"), ("adam", "fixed"), ("lbfgs", "fixed"),
    ("sgd", "tol"), ("adam", "tol"), ("adam", "validation"), ("lbfgs", "tol"),
])
def test_scoring_monitor_records_one_score_per_epoch(kind, solver, how):
    X, y = datasets.problem(kind)
    params = _stopping_params(solver, how)
    if solver == "lbfgs":
        params.pop("learning_rate_init")
        if how == "tol":
            params = {**params, "tol": 1e-4}
    monitor = ScoringMonitor(scoring=SCORING[kind])
    est = ESTIMATORS[kind](**params).set_callbacks(monitor)
    est.fit(X, y)

    rows = _iteration_rows(monitor)
    if how != "fixed":
        assert est.n_iter_ < est.max_iter, "this case must stop before max_iter"
    assert len(rows) == est.n_iter_
    assert [r["task_id"] for r in rows] == list(range(est.n_iter_))
    task = "lbfgs-iter" if solver == "lbfgs" else "epoch"
    assert {r["task_name"] for r in rows} == {task}
    scores = np.array([r[SCORING[kind]] for r in rows])
    assert np.isfinite(scores).all()
    assert (scores <= 1.0).all()
    if kind == "classifier":
        assert (scores >= 0).all()
    # the model improved over the fit, and the last record is the fitted model
    # (except with early stopping, where the model ends at the best epoch)
    assert scores.max() > scores[0]
    if how == "validation":
        assert est.score(X, y) in scores
    else:
        assert scores[-1] == pytest.approx(est.score(X, y), abs=1e-12)
    # the root task ('fit') is scored too, on the final model
    root = [r for r in monitor.get_logs().data if r["task_name"] == "fit"]
    assert len(root) == 1
    assert root[0][SCORING[kind]] == pytest.approx(est.score(X, y), abs=1e-12)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_scoring_monitor_epoch_k_is_the_model_after_k_epochs(solver):
    """Record k is the score of the same estimator trained for k epochs."""
    X, y = datasets.problem("classifier")
    params = dict(hidden_layer_sizes=(16,), solver=solver, random_state=0,
                  **fixed_epochs(8))
    monitor = ScoringMonitor(scoring="neg_log_loss")
    MLPClassifier(**params).set_callbacks(monitor).fit(X, y)
    rows = _iteration_rows(monitor)
    for k in (1, 4, 8):
        shorter = MLPClassifier(**{**params, **fixed_epochs(k)}).fit(X, y)
        expected = -log_loss(y, shorter.predict_proba(X))
        assert rows[k - 1]["neg_log_loss"] == pytest.approx(expected, rel=1e-12)


def test_scoring_monitor_with_sample_weight():
    X, y = datasets.problem("classifier")
    w = np.random.RandomState(0).uniform(0.1, 2.0, len(y))
    monitor = ScoringMonitor(scoring="accuracy")
    clf = MLPClassifier((16,), random_state=0, **fixed_epochs(5)).set_callbacks(monitor)
    clf.fit(X, y, sample_weight=w)
    rows = _iteration_rows(monitor)
    assert len(rows) == 5
    # scored with the weights of the fit (metadata passed to the hooks)
    assert rows[-1]["accuracy"] == pytest.approx(clf.score(X, y, sample_weight=w))
    assert rows[-1]["accuracy"] != pytest.approx(clf.score(X, y))


def test_scoring_monitor_partial_fit_one_task_per_call():
    X, y = datasets.problem("classifier")
    monitor = ScoringMonitor(scoring="accuracy")
    clf = MLPClassifier((16,), random_state=0).set_callbacks(monitor)
    for _ in range(3):
        clf.partial_fit(X, y, classes=np.unique(y))
    logs = monitor.get_logs(select="all")
    assert len(logs) == 3  # one run per partial_fit call
    for log in logs:
        epochs = [r for r in log.data if r["task_name"] == "epoch"]
        assert len(epochs) == 1
    assert _iteration_rows(monitor)[-1]["accuracy"] == pytest.approx(clf.score(X, y))


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_scoring_monitor_inside_pipeline(kind, solver):
    X, y = datasets.problem(kind)
    X = X * 10 + 3  # the scaler matters
    monitor = ScoringMonitor(scoring=SCORING[kind])
    mlp = ESTIMATORS[kind](hidden_layer_sizes=(16,), solver=solver, random_state=0,
                           **fixed_epochs(10))
    pipe = make_pipeline(StandardScaler(), mlp.set_callbacks(monitor)).fit(X, y)
    fitted = pipe[-1]
    rows = _iteration_rows(monitor)
    assert len(rows) == fitted.n_iter_ == 10
    # the MLP was scored on the data it saw: the scaled X
    Xt = pipe[0].transform(X)
    assert rows[-1][SCORING[kind]] == pytest.approx(fitted.score(Xt, y), abs=1e-12)
    assert rows[-1][SCORING[kind]] == pytest.approx(pipe.score(X, y), abs=1e-12)
    # the task tree goes through the pipeline: Pipeline -> step -> MLP -> epoch
    log = monitor.get_logs()
    assert log.estimator_name == "Pipeline"
    assert all(len(r["task_id_path"]) == 3 for r in rows)


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_scoring_monitor_inside_grid_search(solver, n_jobs):
    joblib = pytest.importorskip("joblib")
    X, y = datasets.problem("classifier")
    monitor = ScoringMonitor(scoring="accuracy")
    mlp = MLPClassifier((8,), solver=solver, random_state=0, **fixed_epochs(6))
    pipe = make_pipeline(StandardScaler(), mlp.set_callbacks(monitor))
    grid = {"mlpclassifier__alpha": [1e-4, 1e-1]}
    with joblib.parallel_backend("threading"):
        search = GridSearchCV(pipe, grid, cv=3, n_jobs=n_jobs).fit(X, y)
    rows = _iteration_rows(monitor)
    n_fits = len(grid["mlpclassifier__alpha"]) * 3 + 1  # + refit
    # fixed epochs for sgd/adam; lbfgs may stop early, so count per fit
    by_fit = {}
    for r in rows:
        by_fit.setdefault(r["parent_task_id_path"], []).append(r)
    assert len(by_fit) == n_fits
    log = monitor.get_logs()
    assert log.estimator_name == "GridSearchCV"
    if solver != "lbfgs":
        assert all(len(v) == 6 for v in by_fit.values())
    # the refit is the last fit; its last record scores the best model
    best = search.best_estimator_
    refit_rows = max(by_fit.items(), key=lambda kv: kv[0])[1]
    assert len(refit_rows) == best[-1].n_iter_
    assert refit_rows[-1]["accuracy"] == pytest.approx(
        best[-1].score(best[0].transform(X), y), abs=1e-12)


def test_scoring_monitor_across_processes():
    """GridSearchCV(n_jobs=2) on joblib's loky backend: the MLPs fit in worker
    processes and their per-epoch scores come back to this process."""
    joblib = pytest.importorskip("joblib")
    X, y = datasets.problem("classifier")
    monitor = ScoringMonitor(scoring="accuracy")
    mlp = MLPClassifier((8,), random_state=0, **fixed_epochs(5)).set_callbacks(monitor)
    with joblib.parallel_backend("loky"):
        search = GridSearchCV(mlp, {"alpha": [1e-4, 1e-1]}, cv=2, n_jobs=2).fit(X, y)
    rows = _iteration_rows(monitor)
    assert len(rows) == (2 * 2 + 1) * 5  # 4 fits in the workers + the refit here
    by_fit = {}
    for r in rows:
        by_fit.setdefault(r["parent_task_id_path"], []).append(r)
    assert sorted(len(v) for v in by_fit.values()) == [5] * 5
    # the refit ran here; its path (search, refit) sorts after (search, candidates)
    refit_rows = by_fit[max(by_fit)]
    best = search.best_estimator_
    assert refit_rows[-1]["accuracy"] == pytest.approx(best.score(X, y))


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_progress_bar_runs(kind, solver):
    pytest.importorskip("rich")
    from sklearn.callback import ProgressBar

    X, y = datasets.problem(kind)
    params = dict(hidden_layer_sizes=(8,), solver=solver, random_state=0)
    est = ESTIMATORS[kind](**params, **fixed_epochs(5))
    est.set_callbacks(ProgressBar()).fit(X, y)
    assert est.n_iter_ == 5
    # on a meta-estimator, propagated down to the MLP
    search = GridSearchCV(make_pipeline(StandardScaler(), ESTIMATORS[kind](
        **params, **fixed_epochs(3))),
        {"standardscaler__with_mean": [True, False]}, cv=2)
    search.set_callbacks(ProgressBar(max_propagation_depth=None)).fit(X, y)
    assert search.best_estimator_[-1].n_iter_ == 3


class StopAfter:
    """A callback asking to stop once ``n`` epochs / L-BFGS iterations ended."""

    def __init__(self, n):
        self.n = n
        self.ended = 0

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        if context.task_name in ("epoch", "lbfgs-iter"):
            self.ended += 1
            return self.ended >= self.n
        return False


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_callback_returning_true_stops_training(kind, solver):
    """on_fit_task_end returning True stops the fit after that epoch (L-BFGS
    iteration), without a ConvergenceWarning: the model is the one a fit with
    max_iter=4 gives."""
    X, y = datasets.problem(kind)
    params = dict(hidden_layer_sizes=(16,), solver=solver, random_state=0,
                  **fixed_epochs(50))
    stopper = StopAfter(4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # not "max_iter reached"
        est = ESTIMATORS[kind](**params).set_callbacks(stopper).fit(X, y)
    assert stopper.ended == 4
    assert est.n_iter_ == 4
    if solver != "lbfgs":
        assert len(est.loss_curve_) == 4
    assert_same_model(est, ESTIMATORS[kind](**{**params, **fixed_epochs(4)}).fit(X, y))


def test_callbacks_survive_clone_and_pickle():
    import pickle

    from sklearn.base import clone

    X, y = datasets.problem("classifier")
    monitor = ScoringMonitor(scoring="accuracy")
    clf = MLPClassifier((8,), random_state=0, **fixed_epochs(3)).set_callbacks(monitor)
    assert clone(clf)._skl_callbacks == [monitor]
    clf.fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    assert_array_equal(restored.predict(X), clf.predict(X))
    # no callback state left on the fitted estimator (contexts are per fit)
    assert not hasattr(clf, "_callback_fit_ctx")
