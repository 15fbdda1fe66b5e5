"""cymlp in the scikit-learn ecosystem: fits in threads (no GIL in the
kernels), pandas input, metadata routing, and the optional dependencies
staying optional.

scikit-learn's callback API is tested in test_callbacks.py.

The Dask tests (grid search on a distributed cluster, out-of-core training
with dask-ml's Incremental) are in test_dask.py.
"""

import os
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import sklearn
import sklearn.neural_network as skn
from numpy.testing import assert_array_equal
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning, UnsetMetadataPassedError
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import cymlp
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








# ==========================================================================
# Threads: the kernels run without the GIL
# ==========================================================================
#
# No timing here (the asv module benchmarks/benchmarks/threads.py measures
# the speed-up): only that other Python threads keep running while a kernel
# runs, and that concurrent fits give the models of sequential fits.


def _ticks_while(func):
    """Run ``func`` in a worker thread; count how often this (main) thread
    gets the GIL back meanwhile (each tick sleeps 1 ms, and waking up needs
    the GIL).

    Calibration (2-core machine, other jobs running): a fit below whose
    kernel is replaced by a C loop of the same length that keeps the GIL
    (``sum(range(n))``) leaves 4-18 ticks, all from the fit's Python parts;
    the real kernels leave hundreds.
    """
    done = threading.Event()
    errors = []

    def target():
        try:
            func()
        except BaseException as exc:  # pragma: no cover - re-raised below
            errors.append(exc)
        finally:
            done.set()

    worker = threading.Thread(target=target)
    ticks = 0
    worker.start()
    while not done.is_set():
        time.sleep(0.001)
        ticks += 1
    worker.join()
    if errors:
        raise errors[0]
    return ticks


MIN_TICKS = 50


@pytest.fixture(scope="module")
def big_data():
    # 0.2-1 s per kernel call below: long enough that a GIL held during the
    # call would show.
    X, y = make_classification(40_000, 50, n_informative=20, n_classes=4,
                               random_state=0)
    return X, y


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_epoch_kernel_releases_the_gil(big_data, solver):
    X, y = big_data
    # one epoch: in a thread other than the main one, a single nogil call
    # that never takes the GIL between batches
    clf = MLPClassifier((512,), solver=solver, batch_size=2000, max_iter=1,
                        random_state=0)
    ticks = _ticks_while(lambda: clf.fit(X, y))
    assert clf.n_iter_ == 1
    assert ticks >= MIN_TICKS, ticks


def test_lbfgs_kernel_releases_the_gil(big_data):
    X, y = big_data
    clf = MLPClassifier((256,), solver="lbfgs", max_iter=2, random_state=0)
    ticks = _ticks_while(lambda: clf.fit(X, y))
    assert ticks >= MIN_TICKS, ticks


def test_predict_kernel_releases_the_gil(big_data):
    X, y = big_data
    clf = MLPClassifier((512,), max_iter=1, random_state=0).fit(X[:500], y[:500])
    X_big = np.tile(X, (2, 1))
    ticks = _ticks_while(lambda: clf.predict_proba(X_big))
    assert ticks >= MIN_TICKS, ticks


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_concurrent_fits_equal_sequential_fits(kind, solver):
    X, y = datasets.problem(kind, n=400)
    params = dict(hidden_layer_sizes=(16,), solver=solver, batch_size=50,
                  **fixed_epochs(8))
    seeds = [0, 1, 2, 3]
    sequential = [ESTIMATORS[kind](random_state=s, **params).fit(X, y) for s in seeds]
    concurrent = [ESTIMATORS[kind](random_state=s, **params) for s in seeds]
    threads = [threading.Thread(target=m.fit, args=(X, y)) for m in concurrent]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a, b in zip(sequential, concurrent):
        assert_same_model(a, b)
        assert_array_equal(a.predict(X), b.predict(X))


def test_grid_search_threading_backend_equals_sequential():
    joblib = pytest.importorskip("joblib")
    X, y = datasets.problem("classifier")
    grid = {"alpha": [1e-4, 1e-2], "hidden_layer_sizes": [(8,), (16,)]}
    est = MLPClassifier(random_state=0, learning_rate_init=0.01, **fixed_epochs(15))
    sequential = GridSearchCV(est, grid, cv=3, n_jobs=1).fit(X, y)
    with joblib.parallel_backend("threading"):
        threaded = GridSearchCV(est, grid, cv=3, n_jobs=2).fit(X, y)
    assert_array_equal(sequential.cv_results_["mean_test_score"],
                       threaded.cv_results_["mean_test_score"])
    assert sequential.best_params_ == threaded.best_params_
    assert_same_model(sequential.best_estimator_, threaded.best_estimator_)


# ==========================================================================
# Callbacks (sklearn.callback): one task per epoch / per L-BFGS iteration
# ==========================================================================


# ==========================================================================
# pandas
# ==========================================================================


@pytest.fixture(scope="module")
def pd():
    return pytest.importorskip("pandas")


def _frame(pd, X, prefix="f"):
    return pd.DataFrame(X, columns=[f"{prefix}{i}" for i in range(X.shape[1])])


def _fit_both(kind, X, y, **params):
    params = dict(hidden_layer_sizes=(8,), random_state=0, **fixed_epochs(5), **params)
    return (ESTIMATORS[kind](**params).fit(X, y),
            SKLEARN_ESTIMATORS[kind](**params).fit(X, y))


def _record(func):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        try:
            result = func()
        except Exception as exc:  # compared by the caller
            return None, [], exc
    return result, [(w.category, str(w.message)) for w in caught], None


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_dataframe_sets_feature_names(pd, kind):
    X, y = datasets.problem(kind)
    df = _frame(pd, X)
    ours, theirs = _fit_both(kind, df, y)
    assert_array_equal(ours.feature_names_in_, theirs.feature_names_in_)
    assert ours.feature_names_in_.dtype == object
    assert ours.n_features_in_ == X.shape[1]
    # a frame fit is the ndarray fit
    assert_same_model(ours, ESTIMATORS[kind](**ours.get_params()).fit(X, y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # no feature names: tested below
        assert_array_equal(ours.predict(df), ours.predict(X))
    # ndarray fit: no feature names
    from_array = ESTIMATORS[kind](**ours.get_params()).fit(X, y)
    assert not hasattr(from_array, "feature_names_in_")


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("method", ["predict", "score", "partial_fit"])
def test_feature_name_mismatches_behave_like_sklearn(pd, kind, method):
    X, y = datasets.problem(kind)
    df = _frame(pd, X)
    ours, theirs = _fit_both(kind, df, y)
    cases = {
        "renamed": df.rename(columns={"f0": "other"}),
        "reordered": df[df.columns[::-1]],
        "ndarray": X,
        "extra column": df.assign(extra=1.0),
    }
    for name, Z in cases.items():
        if method == "predict":
            call = lambda est: est.predict(Z)  # noqa: E731
        elif method == "score":
            call = lambda est: est.score(Z, y)  # noqa: E731
        else:
            call = lambda est: est.partial_fit(Z, y)  # noqa: E731
        res_o, warn_o, exc_o = _record(lambda: call(ours))
        res_t, warn_t, exc_t = _record(lambda: call(theirs))
        assert warn_o == warn_t, name
        assert type(exc_o) is type(exc_t), (name, exc_o, exc_t)
        assert str(exc_o) == str(exc_t), name
        if exc_o is None and method != "partial_fit":
            # same kind of result (sklearn's own model differs in the digits)
            assert np.shape(res_o) == np.shape(res_t)
    # at least one case of each kind actually happened
    _, warn, _ = _record(lambda: ours.predict(X))
    assert warn == [(UserWarning, "X does not have valid feature names, but "
                     f"{type(ours).__name__} was fitted with feature names")]


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_frame_at_predict_after_ndarray_fit_warns_like_sklearn(pd, kind):
    X, y = datasets.problem(kind)
    ours, theirs = _fit_both(kind, X, y)
    df = _frame(pd, X)
    _, warn_o, _ = _record(lambda: ours.predict(df))
    _, warn_t, _ = _record(lambda: theirs.predict(df))
    assert warn_o == warn_t
    assert len(warn_o) == 1 and "X has feature names" in warn_o[0][1]


def test_series_targets_and_string_labels(pd):
    X, y = datasets.problem("classifier")
    names = np.array(["setosa", "versicolor", "virginica"])
    df = _frame(pd, X)
    for target in [
        pd.Series(names[y], name="species"),  # pandas' default string dtype
        pd.Series(names[y], dtype=object),
        pd.Series(pd.Categorical(names[y])),
    ]:
        ours, theirs = _fit_both("classifier", df, target)
        assert_array_equal(ours.classes_, theirs.classes_)
        assert_array_equal(ours.classes_, names)
        pred = ours.predict(df)
        assert pred.dtype == theirs.predict(df).dtype
        assert set(pred) <= set(names)
        assert isinstance(pred[0], str)
        # the model is the one of the integer-coded problem, labels mapped back
        coded = MLPClassifier(**ours.get_params()).fit(X, y)
        assert_same_model(ours, coded)
        assert_array_equal(pred, names[coded.predict(X)])
        assert ours.score(df, target) == pytest.approx(coded.score(X, y))
        proba = ours.predict_proba(df)
        assert proba.shape == (len(X), 3)


def test_string_labels_binary_and_partial_fit(pd):
    X, y = datasets.problem("classifier", seed=1)
    y = np.where(y == 0, "spam", "ham")
    df = _frame(pd, X)
    clf = MLPClassifier((8,), random_state=0, **fixed_epochs(5)).fit(df, pd.Series(y))
    assert_array_equal(clf.classes_, ["ham", "spam"])
    assert set(clf.predict(df)) <= {"ham", "spam"}
    inc = MLPClassifier((8,), random_state=0)
    for chunk in np.array_split(np.arange(len(y)), 3):
        inc.partial_fit(df.iloc[chunk], pd.Series(y[chunk]), classes=["ham", "spam"])
    assert_array_equal(inc.feature_names_in_, df.columns)
    assert set(inc.predict(df)) <= {"ham", "spam"}


def test_regressor_series_and_frame_targets(pd):
    X, y = datasets.problem("regressor")
    df = _frame(pd, X)
    reg = MLPRegressor(hidden_layer_sizes=(8,), random_state=0, **fixed_epochs(5))
    from_series = reg.fit(df, pd.Series(y, name="target")).predict(df)
    assert from_series.shape == (len(y),)
    from_arrays = MLPRegressor(**reg.get_params()).fit(X, y).predict(X)
    assert_array_equal(from_series, from_arrays)
    Y = pd.DataFrame({"a": y, "b": -y})
    two = MLPRegressor(**reg.get_params()).fit(df, Y)
    assert two.predict(df).shape == (len(y), 2)
    assert_same_model(two, MLPRegressor(**reg.get_params()).fit(X, Y.to_numpy()))


def test_float32_frame_keeps_float32(pd):
    X, y = datasets.problem("classifier")
    df = _frame(pd, X.astype(np.float32))
    clf = MLPClassifier((8,), random_state=0, **fixed_epochs(3)).fit(df, y)
    assert clf.coefs_[0].dtype == np.float32
    assert clf.predict_proba(df).dtype == np.float32


def test_set_output_pandas_pipeline(pd):
    X, y = datasets.problem("classifier")
    df = _frame(pd, X)
    pipe = make_pipeline(StandardScaler(), MLPClassifier((8,), random_state=0,
                                                         **fixed_epochs(3)))
    pipe.set_output(transform="pandas").fit(df, y)
    assert_array_equal(pipe[-1].feature_names_in_, df.columns)
    assert pipe.predict(df).shape == (len(y),)


# ==========================================================================
# Metadata routing: sample_weight through Pipeline and GridSearchCV
# ==========================================================================


@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_sample_weight_routed_through_pipeline(routing, kind, solver):
    X, y = datasets.problem(kind)
    w = np.random.RandomState(1).uniform(0.0, 3.0, len(y))
    params = dict(hidden_layer_sizes=(8,), solver=solver, random_state=0,
                  **fixed_epochs(10))
    mlp = ESTIMATORS[kind](**params).set_fit_request(sample_weight=True)
    scaler = StandardScaler().set_fit_request(sample_weight=False)
    pipe = make_pipeline(scaler, mlp).fit(X, y, sample_weight=w)

    Xt = StandardScaler().fit_transform(X)
    direct = ESTIMATORS[kind](**params).fit(Xt, y, sample_weight=w)
    assert_same_model(pipe[-1], direct)
    unweighted = ESTIMATORS[kind](**params).fit(Xt, y)
    assert not np.array_equal(pipe[-1].coefs_[0], unweighted.coefs_[0])


def test_sample_weight_routing_needs_a_request(routing):
    X, y = datasets.problem("classifier")
    w = np.ones(len(y))
    pipe = make_pipeline(StandardScaler().set_fit_request(sample_weight=False),
                         MLPClassifier((8,), max_iter=2))
    with pytest.raises(UnsetMetadataPassedError):
        pipe.fit(X, y, sample_weight=w)
    # requests are plain estimator parameters of the metadata API
    mlp = MLPClassifier().set_fit_request(sample_weight=True).set_score_request(
        sample_weight=False)
    routing_info = mlp.get_metadata_routing()
    assert routing_info.fit.requests == {"sample_weight": True, "X_val": None,
                                         "y_val": None, "sample_weight_val": None}
    assert routing_info.score.requests == {"sample_weight": False}
    assert set(routing_info.partial_fit.requests) == {"sample_weight", "classes"}


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_sample_weight_routed_through_grid_search(routing, kind):
    X, y = datasets.problem(kind)
    w = np.random.RandomState(2).uniform(0.0, 3.0, len(y))
    params = dict(hidden_layer_sizes=(8,), random_state=0, learning_rate_init=0.01,
                  **fixed_epochs(10))
    mlp = ESTIMATORS[kind](**params).set_fit_request(sample_weight=True) \
        .set_score_request(sample_weight=True)
    pipe = make_pipeline(StandardScaler().set_fit_request(sample_weight=False), mlp)
    alphas = [1e-4, 1.0]
    search = GridSearchCV(pipe, {f"{mlp.__class__.__name__.lower()}__alpha": alphas},
                          cv=3).fit(X, y, sample_weight=w)

    # the refit model: the MLP fitted directly with the weights
    best_alpha = search.best_params_[f"{mlp.__class__.__name__.lower()}__alpha"]
    Xt = StandardScaler().fit_transform(X)
    direct = ESTIMATORS[kind](**params, alpha=best_alpha).fit(Xt, y, sample_weight=w)
    assert_same_model(search.best_estimator_[-1], direct)

    # every fold was fitted and scored with its share of the weights (cv=3:
    # StratifiedKFold(3) for a classifier, KFold(3) for a regressor)
    splitter = StratifiedKFold(3) if kind == "classifier" else KFold(3)
    for i, alpha in enumerate(alphas):
        scores = []
        for train, test in splitter.split(X, y):
            scaler = StandardScaler().fit(X[train])
            model = ESTIMATORS[kind](**params, alpha=alpha).fit(
                scaler.transform(X[train]), y[train], sample_weight=w[train])
            scores.append(model.score(scaler.transform(X[test]), y[test],
                                      sample_weight=w[test]))
        assert search.cv_results_["mean_test_score"][i] == pytest.approx(
            np.mean(scores), rel=1e-12)


# ==========================================================================
# Optional dependencies stay optional
# ==========================================================================

_DASK = ("dask", "distributed", "dask_ml")
# rich is scikit-learn's optional dependency (sklearn.callback imports it
# when it is there), not cymlp's; it is blocked below to show it stays optional.
_OPTIONAL = _DASK + ("rich",)


def _run_python(code):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                            capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_import_does_not_load_dask():
    out = _run_python(f"""
        import sys
        import cymlp
        from cymlp import MLPClassifier, MLPRegressor
        from sklearn.datasets import make_classification
        X, y = make_classification(100, 5, random_state=0)
        MLPClassifier((4,), max_iter=3).fit(X, y).predict(X)
        loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({_DASK!r}))
        print("LOADED", loaded)
    """)
    assert "LOADED []" in out


def test_works_when_dask_cannot_be_imported():
    """Block dask & co. at import (as on a machine without them): cymlp imports,
    fits, predicts and pickles."""
    out = _run_python(f"""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {_OPTIONAL!r}:
                    raise ModuleNotFoundError("blocked: " + name, name=name)
        sys.meta_path.insert(0, Block())
        import pickle
        import numpy as np
        from sklearn.datasets import make_regression
        from cymlp import MLPRegressor
        X, y = make_regression(200, 5, random_state=0)
        reg = MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=50,
                           random_state=0).fit(X, y)
        again = pickle.loads(pickle.dumps(reg))
        assert np.array_equal(again.predict(X), reg.predict(X))
        print("OK", reg.score(X, y) > 0.5)
    """)
    assert "OK True" in out


def test_source_never_imports_dask():
    package = Path(cymlp.__file__).parent
    sources = [p for p in package.rglob("*") if p.suffix in (".py", ".pyx", ".pxd")]
    assert sources
    for path in sources:
        text = path.read_text()
        for name in ("dask", "distributed"):
            assert f"import {name}" not in text and f"from {name}" not in text, path
