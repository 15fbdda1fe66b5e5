"""cymlp on Dask: scikit-learn's GridSearchCV on a distributed cluster
(joblib's dask backend), and out-of-core training with dask-ml's Incremental
(one partial_fit per block of a dask array).

The cluster is a LocalCluster of two worker processes on the loopback
interface, started and stopped by a module fixture (a few seconds).
Skipped when dask / distributed / dask-ml are not installed.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from cymlp import MLPClassifier, MLPRegressor
from model_checks import assert_same_model, fixed_epochs

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")






@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        # distributed warns about ports, memory limits... on small machines
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
            dashboard_address=None,
        )
        client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


# ==========================================================================
# GridSearchCV over a Pipeline on the cluster
# ==========================================================================


@pytest.fixture(scope="module")
def search_problem():
    X, y = make_classification(n_samples=600, n_features=12, n_informative=6,
                               n_classes=3, random_state=0)
    X = 5.0 * X + 2.0  # the scaler matters
    pipe = make_pipeline(StandardScaler(), MLPClassifier(
        random_state=0, learning_rate_init=0.01, **fixed_epochs(30)))
    grid = {"mlpclassifier__alpha": [1e-4, 1e-1],
            "mlpclassifier__hidden_layer_sizes": [(8,), (32,)],
            "mlpclassifier__solver": ["adam", "lbfgs"]}
    return X, y, pipe, grid


def _worker_blas_threads(client):
    """The BLAS thread counts of the workers (distributed starts them at 1)."""
    from threadpoolctl import threadpool_info

    def blas_threads():
        return sorted({p["num_threads"] for p in threadpool_info()
                       if p["user_api"] == "blas"})

    return set(map(tuple, client.run(blas_threads).values()))


def test_grid_search_on_dask_equals_local(client, search_problem):
    # Bitwise comparisons below compare the same computations: every fit here
    # and on the workers runs with one BLAS thread (the refit of the remote
    # search runs in this process).
    assert _worker_blas_threads(client) == {(1,)}
    X, y, pipe, grid = search_problem
    with (distributed.get_task_stream(client) as stream, joblib.parallel_backend("dask"),
          threadpool_limits(limits=1, user_api="blas")):
        remote = GridSearchCV(pipe, grid, cv=3).fit(X, y)
    # the candidates' fits ran on both worker processes
    workers = {task["worker"] for task in stream.data}
    assert workers == set(client.scheduler_info()["workers"])

    # the same search in this process, BLAS at one thread like the workers
    with threadpool_limits(limits=1, user_api="blas"):
        local = GridSearchCV(pipe, grid, cv=3).fit(X, y)

    n_candidates = len(local.cv_results_["params"])
    assert n_candidates == 8
    assert remote.cv_results_["params"] == local.cv_results_["params"]
    for split in range(3):
        key = f"split{split}_test_score"
        assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    assert remote.best_params_ == local.best_params_
    assert remote.best_score_ == local.best_score_

    # the best model: same scaler, same network, same predictions
    best_remote, best_local = remote.best_estimator_, local.best_estimator_
    assert_array_equal(best_remote[0].mean_, best_local[0].mean_)
    assert_same_model(best_remote[-1], best_local[-1])
    with threadpool_limits(limits=1, user_api="blas"):
        assert_array_equal(remote.predict(X), local.predict(X))
        assert_array_equal(remote.predict_proba(X), local.predict_proba(X))
    assert remote.score(X, y) > 0.8


def test_fit_on_a_worker_returns_the_local_model(client):
    """A model fitted in a worker process comes back (pickled) as the model
    fitted here; and a model fitted here keeps training there. (One BLAS
    thread here as on the workers: the same computation, compared bitwise.)"""
    assert _worker_blas_threads(client) == {(1,)}
    X, y = make_regression(n_samples=400, n_features=10, noise=1.0, random_state=0)
    y = y / y.std()
    reg = MLPRegressor(hidden_layer_sizes=(16,), solver="sgd", random_state=0,
                       **fixed_epochs(10))
    with threadpool_limits(limits=1, user_api="blas"):
        local = clone(reg).fit(X, y)
        remote = client.submit(clone(reg).fit, X, y, pure=False).result()
        assert_same_model(remote, local)
        assert_array_equal(remote.predict(X), local.predict(X))

        # partial_fit state (optimizer, counters) survives the trip
        def one_more_epoch(model, X, y):
            return model.partial_fit(X, y)

        there = client.submit(one_more_epoch, local, X, y, pure=False).result()
        here = clone(reg).fit(X, y).partial_fit(X, y)
        assert_same_model(there, here)


@pytest.mark.xfail(reason=(
    "scikit-learn 1.9.1 + distributed: a LocalCluster's scheduler runs in this "
    "process and unpickles the task graph here; ScoringMonitor.__setstate__ then "
    "sees its own listener and opens a new one for the copy, so the workers report "
    "to the copy. Same with LogisticRegression: not cymlp's. Only the refit's "
    "scores (fitted here) arrive."), strict=False)
def test_scoring_monitor_collects_from_the_workers(client):
    """sklearn.callback's ScoringMonitor on the MLP of a grid search on the
    cluster: the workers' per-epoch scores reach the monitor here."""
    from sklearn.callback import ScoringMonitor

    X, y = make_classification(n_samples=300, n_features=8, random_state=0)
    monitor = ScoringMonitor(scoring="accuracy")
    mlp = MLPClassifier((8,), random_state=0, **fixed_epochs(5)).set_callbacks(monitor)
    with joblib.parallel_backend("dask"):
        search = GridSearchCV(mlp, {"alpha": [1e-4, 1e-2]}, cv=2).fit(X, y)
    rows = [r for r in monitor.get_logs().data if r["task_name"] == "epoch"]
    assert len(rows) == (2 * 2 + 1) * 5  # 4 fits on the workers + the refit here
    by_fit = {}
    for r in rows:
        by_fit.setdefault(r["parent_task_id_path"], []).append(r)
    refit_rows = by_fit[max(by_fit)]  # path (search, refit) sorts last
    best = search.best_estimator_
    assert refit_rows[-1]["accuracy"] == pytest.approx(best.score(X, y))


# ==========================================================================
# Out of core: dask-ml's Incremental, one partial_fit per block
# ==========================================================================

EPOCHS = 15
CHUNK = 500


@pytest.fixture(scope="module")
def dask_ml_wrappers():
    return pytest.importorskip("dask_ml.wrappers")


def _split(X, y):
    return train_test_split(X, y, test_size=2000, random_state=0)


def _blocks(X, y):
    """X, y as dask arrays of CHUNK rows per block."""
    return (da.from_array(X, chunks=(CHUNK, X.shape[1])),
            da.from_array(y, chunks=CHUNK))


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_incremental_reaches_in_memory_score(client, dask_ml_wrappers, kind):
    """EPOCHS passes of Incremental over a dask array (one partial_fit per
    block) score within 0.02 of an in-memory fit of EPOCHS epochs."""
    if kind == "classifier":
        X, y = make_classification(n_samples=8000, n_features=20, n_informative=10,
                                   n_classes=3, random_state=0)
        cls, extra = MLPClassifier, {"classes": np.unique(y)}
    else:
        X, y = make_regression(n_samples=8000, n_features=20, n_informative=10,
                               noise=10.0, random_state=0)
        y = (y - y.mean()) / y.std()
        cls, extra = MLPRegressor, {}
    X_train, X_test, y_train, y_test = _split(X, y)
    params = dict(hidden_layer_sizes=(32,), random_state=0, **fixed_epochs(EPOCHS))

    in_memory = cls(**params).fit(X_train, y_train)

    Xd, yd = _blocks(X_train, y_train)
    assert Xd.numblocks[0] == len(X_train) // CHUNK
    inc = dask_ml_wrappers.Incremental(cls(**params), random_state=0)
    for _ in range(EPOCHS):
        inc.partial_fit(Xd, yd, **extra)
    model = inc.estimator_
    # every block was one partial_fit call (t_ counts the samples seen)
    assert model.t_ == EPOCHS * len(X_train)

    expected = in_memory.score(X_test, y_test)
    got = model.score(X_test, y_test)
    assert got >= expected - 0.02, (got, expected)
    # Incremental's predictions (block by block, on the workers) are the
    # model's. Not bitwise: blocks of 500 rows and one array of 2000 are cut
    # into other products (the BLAS may sum in another order).
    Xt, yt = _blocks(X_test, y_test)
    if kind == "classifier":
        assert_allclose(inc.predict_proba(Xt).compute(), model.predict_proba(X_test),
                        rtol=1e-12, atol=1e-15)
        assert_array_equal(inc.predict(Xt).compute(), model.predict(X_test))
    else:
        assert_allclose(inc.predict(Xt).compute(), model.predict(X_test), rtol=1e-12,
                        atol=1e-13)
    if kind == "classifier":
        # Incremental's own scoring (dask_ml.metrics). Not for the regressor:
        # dask_ml.metrics.r2_score (dask-ml 2025.1.0) fails on dask >= 2025 with
        # "ValueError: cannot broadcast shape (nan,) to shape (nan,)" for any
        # estimator (SGDRegressor too): a boolean-mask assignment into a dask
        # array of unknown length.
        assert inc.score(Xt, yt) == pytest.approx(got)


def test_incremental_is_partial_fit_over_the_blocks(client, dask_ml_wrappers):
    """Incremental(shuffle_blocks=False) is exactly a loop of partial_fit
    over the blocks of the dask array, in order."""
    X, y = make_classification(n_samples=3000, n_features=10, random_state=1)
    Xd, yd = _blocks(X, y)
    params = dict(hidden_layer_sizes=(16,), random_state=0)
    classes = np.unique(y)

    inc = dask_ml_wrappers.Incremental(MLPClassifier(**params), shuffle_blocks=False)
    for _ in range(3):
        inc.partial_fit(Xd, yd, classes=classes)

    # one BLAS thread, as on the workers: the same computation, bitwise
    assert _worker_blas_threads(client) == {(1,)}
    by_hand = MLPClassifier(**params)
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(3):
            for xb, yb in zip(Xd.blocks, yd.blocks):
                by_hand.partial_fit(xb.compute(), yb.compute(), classes=classes)
    assert_same_model(inc.estimator_, by_hand)


def test_incremental_without_a_cluster(dask_ml_wrappers):
    """The same with dask's local (threaded) scheduler, no distributed client."""
    X, y = make_regression(n_samples=2000, n_features=10, noise=1.0, random_state=2)
    y = y / y.std()
    Xd, yd = _blocks(X, y)
    params = dict(hidden_layer_sizes=(16,), random_state=0, learning_rate_init=0.01)
    import dask

    with dask.config.set(scheduler="threads"):
        inc = dask_ml_wrappers.Incremental(MLPRegressor(**params), shuffle_blocks=False)
        for _ in range(5):
            inc.partial_fit(Xd, yd)
    by_hand = MLPRegressor(**params)
    for _ in range(5):
        for start in range(0, len(X), CHUNK):
            by_hand.partial_fit(X[start:start + CHUNK], y[start:start + CHUNK])
    assert_same_model(inc.estimator_, by_hand)
    assert by_hand.score(X, y) > 0.9
