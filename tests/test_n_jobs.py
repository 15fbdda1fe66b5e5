"""n_jobs: the data-parallel path (row blocks on OpenMP threads).

* The same bits for every thread count: the fits of ``test_dispatch``
  (every activation, head, solver and extra, dense and sparse X, float32
  and float64, sample weights, early stopping, warm start, partial_fit)
  and fits whose batches cut into 8 blocks or into fewer blocks than the
  batch size asks for, with n_jobs = 1, 2, 3, 4 and -1; and at every SIMD
  level, in a fresh interpreter per level.
* Close to n_jobs=None (the whole-batch path, which they differ from only
  in the order of the gradient's sums): the kernels' loss, gradient, norms
  and running statistics for every activation and head, with dropout (the
  same masks) and batch norm, and the same fits' models.
* predict / predict_proba on large X in parallel chunks: n_jobs=None's
  values, within rounding.
* How n_jobs resolves (scikit-learn's rules: -1 follows OMP_NUM_THREADS and
  threadpoolctl), and BLAS at one thread during a parallel fit, given back
  after it, also when fits run side by side in Python threads.
* Reliability: Ctrl-C stops a parallel fit within one batch (it keeps the
  weights of exactly the finished batches), a failed parallel fit leaves the
  estimator as it was, and concurrent parallel fits in Python threads give
  the sequential models.

Run as a script (``python tests/test_n_jobs.py N``), it prints the SIMD
level and one digest over the parallel fits with n_jobs=N.
"""

import hashlib
import os
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError
from threadpoolctl import threadpool_info, threadpool_limits

import cymlp
from cymlp import MLPClassifier, MLPRegressor, _dispatch, _layout, _plans, _threads
from cymlp._activations import ACTIVATION_CODES
from cymlp._blocks import Blocks, n_blocks_for
from concurrency import in_threads
from test_dispatch import HEADS, _fits, _targets, fit_spec, model_digest
from test_saved_models import needs_numpy_2

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

THREAD_COUNTS = (1, 2, 3, 4, -1)


def _block_fits():
    """Fits whose batches cut unevenly: 8 blocks (3 threads share them 2-3-3),
    and a last batch of 2 rows (2 blocks of 1 row, of an 8-block cut)."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(514, 12))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    return [
        ("eight-blocks-bn-dropout", MLPClassifier,
         dict(hidden_layer_sizes=(20, 10), batch_size=512, batch_norm=True, dropout=0.2,
              activation=["prelu", "tanh"]), X, y, None, "fit"),
        ("eight-blocks-lbfgs-bn", MLPRegressor,
         dict(hidden_layer_sizes=(9,), solver="lbfgs", batch_norm=True), X, X[:, :2], None,
         "fit"),
        ("short-last-batch-sgd", MLPRegressor,
         dict(hidden_layer_sizes=(7,), solver="sgd", batch_size=512, shuffle=False),
         X, X[:, 3], rng.uniform(0.5, 2.0, 514), "fit"),
    ]


def _fit(spec, dtype, n_jobs, max_iter=4):
    return fit_spec(spec, dtype, max_iter, 2, n_jobs=n_jobs)


ALL_FITS = _fits() + _block_fits()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("spec", ALL_FITS, ids=[spec[0] for spec in ALL_FITS])
def test_every_thread_count_gives_the_same_bits(spec, dtype):
    digests = {n_jobs: model_digest(*_fit(spec, dtype, n_jobs)) for n_jobs in THREAD_COUNTS}
    assert len(set(digests.values())) == 1, digests


def parallel_digest(n_jobs):
    """One sha256 over every fit of ALL_FITS with ``n_jobs``, float64 and float32."""
    digest = hashlib.sha256()
    for dtype in (np.float64, np.float32):
        for spec in ALL_FITS:
            digest.update(model_digest(*_fit(spec, dtype, n_jobs)).encode())
    return digest.hexdigest()


def test_every_simd_level_gives_the_same_bits():
    # (every thread count gives the same bits at this process's level, above)
    digests = {}
    for level in _dispatch.available_levels():
        proc = subprocess.run([sys.executable, __file__, "3"],
                              env=dict(os.environ, CYMLP_SIMD=level),
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-3000:]
        chosen, digest = proc.stdout.split()
        assert chosen == level
        digests[level] = digest
    assert len(set(digests.values())) == 1, digests


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-9), (np.float32, 2e-3)])
@pytest.mark.parametrize("spec", ALL_FITS, ids=[spec[0] for spec in ALL_FITS])
def test_models_are_close_to_the_whole_batch_path(spec, dtype, rtol):
    # The same batches, draws and steps; only the gradient's sums run in
    # another order. Over a few epochs the models stay within rounding.
    serial, X = _fit(spec, dtype, None)
    parallel, _ = _fit(spec, dtype, 2)
    assert parallel.n_iter_ == serial.n_iter_
    # Biases that feed batch norm have no gradient but rounding noise, which
    # Adam scales up to full steps: they are left out (batch norm cancels them).
    normed = [bool(serial.batch_norm)] * (len(serial.coefs_) - 1) + [False]
    scale = max(np.abs(w).max() for w in serial.coefs_ + serial.intercepts_)
    pairs = list(zip(parallel.coefs_, serial.coefs_)) + [
        (a, b) for a, b, bn in zip(parallel.intercepts_, serial.intercepts_, normed) if not bn]
    for a, b in pairs:
        assert_allclose(a, b, rtol=rtol, atol=rtol * scale)
    curve = getattr(serial, "loss_curve_", None) or [serial.loss_]
    assert_allclose(getattr(parallel, "loss_curve_", None) or [parallel.loss_], curve,
                    rtol=rtol)


# --------------------------------------------------------------------------
# Kernels: the blocked loss and gradient against the whole batch's
# --------------------------------------------------------------------------


def _gradient(n_threads, activation, head, dtype, extras, n=301, seed=None):
    rng = np.random.default_rng(11)
    units = [13, 37, 21, 3]
    layout = _layout.Layout(units, [activation] * 2, head, 0.05,
                            [0.3 * extras, 0.1 * extras], [extras, extras])
    X = rng.normal(size=(n, units[0])).astype(dtype)
    Y = _targets(head, rng, n, units[-1]).astype(dtype)
    sw = rng.uniform(0.5, 2.0, n).astype(dtype)
    params = rng.uniform(-0.8, 0.8, layout.n_params).astype(dtype)
    running = np.zeros(layout.n_running, dtype=dtype)
    running[layout.n_running // 2:] = 1.0
    norms = np.zeros(len(units) - 1)
    data = _plans.TrainingSet(layout, X, Y, sw)
    plan = _plans.GradientPlan(layout, data, running, 1e-3, 1.0, norms, n_threads)
    if seed is not None:
        plan.seed(seed)
    grads = np.zeros(layout.n_params, dtype=dtype)
    loss = _dispatch.network.loss_and_gradient(plan, params, grads, 0.5)
    return loss, grads, norms, running


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-11), (np.float32, 1e-4)])
@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("activation", sorted(ACTIVATION_CODES))
def test_blocked_gradient_matches_the_whole_batch(activation, head, dtype, rtol):
    extras = activation in ("relu", "tanh", "prelu", "gelu")   # batch norm + dropout
    seed = 5 if extras else None                               # the same masks
    whole = _gradient(None, activation, head, dtype, extras, seed=seed)
    for n_threads in (1, 3):
        blocked = _gradient(n_threads, activation, head, dtype, extras, seed=seed)
        assert_allclose(blocked[0], whole[0], rtol=rtol)
        for got, want in zip(blocked[1:], whole[1:]):
            assert_allclose(got, want, rtol=rtol, atol=rtol * np.abs(want).max(initial=0))


def test_dropout_masks_do_not_depend_on_the_cut():
    # A batch of 301 rows cuts into 4 blocks; masks drawn per block from
    # another stream would change the gradient by O(1), not by rounding.
    whole = _gradient(None, "relu", "log_loss", np.float64, True, seed=9)
    other_seed = _gradient(None, "relu", "log_loss", np.float64, True, seed=10)
    blocked = _gradient(2, "relu", "log_loss", np.float64, True, seed=9)
    assert_allclose(blocked[1], whole[1], rtol=1e-11, atol=1e-13)
    assert np.abs(other_seed[1] - whole[1]).max() > 1e-3


@pytest.mark.parametrize("batch_size, largest_layer, blocks", [
    (1, 0, 1), (63, 0, 1), (64, 0, 2), (127, 0, 2), (128, 0, 2), (200, 0, 2), (255, 0, 2),
    (256, 0, 4), (511, 0, 4), (512, 0, 8), (1024, 0, 16), (4095, 0, 32), (4096, 0, 64), (10**7, 0, 64),
    (200, 2**17, 2), (64, 2**17 + 1, 1), (199, 2**17 + 1, 1), (200, 2**17 + 1, 2),
    (3000, 784 * 512, 16)])
def test_the_cut_depends_on_the_batch_size_and_network_only(batch_size, largest_layer, blocks):
    # blocks of >= 64 rows (>= 100 above 2**17 weights in a layer), a power of two <= 64;
    # 64 to 127 rows: two blocks (not above 2**17 weights)
    assert n_blocks_for(batch_size, largest_layer) == blocks


def test_threads_beyond_the_work_are_not_started():
    X = np.random.default_rng(0).normal(size=(200, 3))
    y = X[:, 0] > 0
    digests = [model_digest(MLPClassifier((4,), max_iter=3, random_state=0, n_jobs=n).fit(X, y), X)
               for n in (1, 500)]
    assert digests[0] == digests[1]
    layout = _layout.Layout([3, 4, 1], ["relu"], "binary_log_loss")
    blocks = Blocks(layout, 200, np.float64, True, 500, None)
    # 2 blocks, 3 chunks (each weight matrix, the biases): 3 threads find work
    assert blocks.n_blocks == 2 and blocks.n_threads == 3


@pytest.mark.parametrize("batch_size", [1, 2, 63, 64, 65, 258, 1025, 4097])
def test_every_block_fits_its_workspace(batch_size):
    layout = _layout.Layout([3, 4, 2], ["relu"], "squared_error")
    blocks = Blocks(layout, batch_size, np.float64, True, 2, None)
    k = blocks.n_blocks
    largest = max((j + 1) * batch_size // k - j * batch_size // k for j in range(k))
    assert blocks.capacity == largest


# --------------------------------------------------------------------------
# predict on threads
# --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["dense", "sparse", "float32-extras", "regressor"])
def test_parallel_predict_matches_the_serial_one(kind):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 10))
    y = (X[:, 0] > X[:, 1]).astype(int) + (X[:, 2] > 0)
    X_big = rng.normal(size=(3001, 10))    # 12 chunks, the last one short
    if kind == "sparse":
        X, X_big = (sp.csr_matrix(np.where(np.abs(A) > 0.7, A, 0.0)) for A in (X, X_big))
    kw = dict(max_iter=5, random_state=0)
    if kind == "float32-extras":
        X, X_big = X.astype(np.float32), X_big.astype(np.float32)
        est = MLPClassifier((16, 8), activation=["prelu", "gelu"], batch_norm=True, **kw)
    elif kind == "regressor":
        est = MLPRegressor(hidden_layer_sizes=(16,), **kw)
        y = X[:, :2] if not sp.issparse(X) else y
    else:
        est = MLPClassifier((16,), **kw)
    est.fit(X, y)
    methods = ["predict"] + (["predict_proba"] if isinstance(est, MLPClassifier) else [])
    expected = {m: getattr(est, m)(X_big) for m in methods}
    rtol = 1e-5 if kind == "float32-extras" else 1e-12
    for n_jobs in (1, 2, 3, -1):
        est.set_params(n_jobs=n_jobs)
        for m in methods:
            got = getattr(est, m)(X_big)
            assert got.dtype == expected[m].dtype and got.shape == expected[m].shape
            if m == "predict" and isinstance(est, MLPClassifier):
                assert (got == expected[m]).mean() > 0.999
            else:
                assert_allclose(got, expected[m], rtol=rtol, atol=rtol)


def test_parallel_predictions_from_several_python_threads_agree():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(300, 8))
    est = MLPClassifier((16,), batch_norm=True, max_iter=3, random_state=0, n_jobs=2)
    est.fit(X, X[:, 0] > 0)
    X_big = rng.normal(size=(3000, 8))
    expected = est.predict_proba(X_big)
    results = in_threads(lambda i: [est.predict_proba(X_big) for _ in range(5)], 4)
    for got in results:
        for proba in got:
            assert_array_equal(proba, expected)      # the same chunks, the same code


# --------------------------------------------------------------------------
# How many threads, and BLAS meanwhile
# --------------------------------------------------------------------------


def test_n_jobs_resolves_as_scikit_learn_resolves_openmp_threads():
    if not cymlp._openmp.openmp_enabled():
        assert _threads.effective_n_threads(-1) == _threads.effective_n_threads(4) == 1
        return
    from joblib import cpu_count

    every_core = min(cymlp._openmp.openmp_max_threads(), cpu_count(only_physical_cores=True))
    if "OMP_NUM_THREADS" not in os.environ:
        assert _threads.effective_n_threads(-1) == every_core
    assert _threads.effective_n_threads(None) is None
    assert _threads.effective_n_threads(3) == 3      # explicit: as asked
    for api in ("openmp", None):
        with threadpool_limits(limits=1, user_api=api):
            assert _threads.effective_n_threads(-1) == 1
            assert _threads.effective_n_threads(2) == 2
    unlimited = _threads.effective_n_threads(-1)
    with threadpool_limits(limits=1, user_api="blas"):   # BLAS's limit is not n_jobs's
        assert _threads.effective_n_threads(-1) == unlimited
    code = ("from cymlp._threads import effective_n_threads as f; "
            "print(f(-1), f(-2), f(-9), f(5))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, OMP_NUM_THREADS="3"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["3", "2", "1", "5"]


def test_loky_workers_give_n_jobs_minus_one_their_share_of_the_cores():
    # joblib's process backend starts each of its k workers with
    # OMP_NUM_THREADS = cores // k (GridSearchCV(n_jobs=k)'s default backend)
    from joblib import Parallel, cpu_count, delayed

    got = Parallel(n_jobs=2, backend="loky")(
        delayed(_threads.effective_n_threads)(-1) for _ in range(2))
    share = int(os.environ.get("OMP_NUM_THREADS", max(cpu_count() // 2, 1)))
    assert got == [share if cymlp._openmp.openmp_enabled() else 1] * 2


def test_without_openmp_n_jobs_runs_one_thread(monkeypatch):
    monkeypatch.setattr(_threads, "openmp_enabled", lambda: False)
    assert _threads.effective_n_threads(-1) == _threads.effective_n_threads(8) == 1
    assert _threads.effective_n_threads(None) is None


@pytest.mark.parametrize("n_jobs, error", [(0, ValueError), ("2", InvalidParameterError),
                                           (1.5, InvalidParameterError)])
def test_bad_n_jobs_is_refused(n_jobs, error):
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(error, match="n_jobs"):
        MLPClassifier((4,), n_jobs=n_jobs, max_iter=2).fit(X, X[:, 0] > 0)


def _blas_threads():
    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


def test_blas_runs_one_thread_during_a_parallel_fit_and_is_given_back(monkeypatch):
    seen = []
    train_epoch = _dispatch.network.train_epoch

    def spy(plan, learning_rate):
        seen.append(_blas_threads())
        return train_epoch(plan, learning_rate)

    X = np.random.default_rng(0).normal(size=(100, 3))
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        monkeypatch.setattr(_dispatch.network, "train_epoch", spy)
        MLPClassifier((4,), max_iter=2, n_jobs=2).fit(X, X[:, 0] > 0)
        MLPClassifier((4,), max_iter=1).fit(X, X[:, 0] > 0)       # n_jobs=None
        after = _blas_threads()
    assert seen[:2] == [[1] * len(before)] * 2
    assert seen[2] == before == after


@pytest.mark.parametrize("first", ["main", "worker"])
def test_the_blas_limit_is_counted_over_python_threads(first):
    # Parallel fits in two Python threads, overlapping: the first to start
    # limits BLAS, the last to end (the other thread) gives the limits back,
    # also while the main thread is inside its own threadpool_limits block.
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        started, release, done = threading.Event(), threading.Event(), threading.Event()
        seen = {}

        def worker():
            if first == "worker":
                with _threads.single_threaded_blas():
                    started.set()
                    release.wait(60)
                    seen["worker, main ended"] = _blas_threads()
            else:
                started.wait(60)
                with _threads.single_threaded_blas():
                    release.set()
                    done.wait(60)
                    seen["worker, main ended"] = _blas_threads()

        thread = threading.Thread(target=worker)
        thread.start()
        if first == "worker":
            started.wait(60)
            with _threads.single_threaded_blas():
                seen["main"] = _blas_threads()
            release.set()
        else:
            with _threads.single_threaded_blas():
                started.set()
                release.wait(60)
                seen["main"] = _blas_threads()
            done.set()
        thread.join(60)
        assert seen == {"main": [1] * len(before), "worker, main ended": [1] * len(before)}
        assert _blas_threads() == before
    assert before == [2] * len(before)


def test_show_config_says_whether_n_jobs_runs_on_threads(capsys):
    cymlp.show_config()
    out = capsys.readouterr().out
    if cymlp._openmp.openmp_enabled():
        assert "openmp     yes: n_jobs runs on OpenMP threads" in out
        assert f"n_jobs=-1  {_threads.effective_n_threads(-1)} threads" in out
    else:
        assert "openmp     no: n_jobs runs on one thread (the same results)" in out
    assert f"openmp        {cymlp._build_config.OPENMP}" in out


@needs_numpy_2
def test_a_model_saved_before_n_jobs_loads_with_n_jobs_none_and_trains_in_parallel():
    from test_saved_models import EXPECTED, load, training_data

    with pytest.warns(cymlp.InconsistentVersionWarning):
        model = load("binary-adam", "pkl")
    assert model.get_params()["n_jobs"] is None
    X, y = training_data("binary-adam")
    model.set_params(n_jobs=2).partial_fit(X, y)
    # the model 0.1.0 reached with the same step, within the sums' order
    assert_allclose(model.predict_proba(X), EXPECTED["binary-adam/trained-on/predict_proba"],
                    rtol=1e-9)


# --------------------------------------------------------------------------
# Reliability
# --------------------------------------------------------------------------


def _adam_steps(est):
    optimizer = getattr(est, "_optimizer", None)
    return -1 if optimizer is None else int(optimizer.t[0])


def test_interrupt_stops_a_parallel_fit_within_one_batch(fit_interrupted):
    # Counted in batches, as for the whole-batch path: the signal goes once 3
    # batches are done; only the batch running then may finish.
    params = dict(hidden_layer_sizes=(256, 256), batch_size=128, shuffle=False,
                  max_iter=5, random_state=0, n_jobs=2)
    rng = np.random.RandomState(0)
    X = rng.randn(1500 * params["batch_size"], 16)
    y = (X[:, 0] + np.sin(X[:, 1]) > 0).astype(int)
    est = MLPClassifier(**params)
    result = fit_interrupted(est, X, y, when=lambda: _adam_steps(est) >= 3,
                             at_signal=lambda: _adam_steps(est))
    assert "Training interrupted by user." in result.messages
    assert est.n_iter_ == 0 and est.loss_curve_ == []
    k = int(est._optimizer.t[0])
    assert result.at_signal <= k <= result.at_signal + 1
    assert result.latency < 60, f"fit returned {result.latency:.1f} s after SIGINT"
    # exactly the weights of k parallel batches
    n = k * params["batch_size"]
    replay = MLPClassifier(**dict(params, max_iter=1)).fit(X[:n], y[:n])
    assert_array_equal(est._network_state.params_copy(), replay._network_state.params_copy())
    assert np.isfinite(est.predict_proba(X[:500])).all()


def test_interrupt_during_parallel_lbfgs_keeps_the_last_iterate(fit_interrupted, monkeypatch):
    # As for the whole-batch path: counted in loss evaluations; the one running
    # at the signal finishes, L-BFGS starts no other (fit makes one more, at
    # the kept iterate, for loss_).
    started = []
    evaluate = _dispatch.network.loss_and_gradient

    def counted(*args, **kwargs):
        started.append(None)
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(_dispatch.network, "loss_and_gradient", counted)
    rng = np.random.RandomState(0)
    X = rng.randn(4800, 32)
    y = (X[:, 0] + np.sin(X[:, 1]) > 0).astype(int)
    params = dict(hidden_layer_sizes=(128,), solver="lbfgs", max_iter=500, tol=0.0,
                  max_fun=100000, random_state=0, n_jobs=2)
    est = MLPClassifier(**params)
    result = fit_interrupted(est, X, y, when=lambda: len(started) >= 6,
                             at_signal=lambda: len(started))
    assert "Training interrupted by user." in result.messages
    assert result.at_signal <= len(started) <= result.at_signal + 1
    monkeypatch.undo()
    k = est.n_iter_
    assert 1 <= k < params["max_iter"]
    replay = MLPClassifier(**dict(params, max_iter=k)).fit(X, y)
    assert_array_equal(est._network_state.params_copy(), replay._network_state.params_copy())


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_a_failed_parallel_fit_leaves_the_estimator_as_it_was(solver):
    rng = np.random.RandomState(0)
    X = rng.randn(300, 6)
    Y = X[:, :2] @ rng.randn(2, 2)
    est = MLPRegressor(hidden_layer_sizes=(8,), solver=solver, max_iter=3, random_state=0,
                       n_jobs=2, warm_start=True).fit(X, Y)
    before = (est._network_state.params_copy().tobytes(), dict(vars(est)))
    with pytest.raises(ValueError):
        # diverges (sgd), or non-finite data in the objective (lbfgs)
        est.set_params(learning_rate_init=1e300).fit(X * (1e300 if solver == "lbfgs" else 1),
                                                     Y)
    assert est._network_state.params_copy().tobytes() == before[0]
    assert set(vars(est)) == set(before[1]) and est.n_iter_ == before[1]["n_iter_"]


def test_concurrent_parallel_fits_give_the_sequential_models():
    rng = np.random.RandomState(1)
    X = rng.randn(400, 8)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 1)
    configs = [dict(solver="adam", activation="relu", batch_norm=True),
               dict(solver="sgd", activation="tanh", dropout=0.2),
               dict(solver="lbfgs", activation="gelu")]

    def fit(config, seed):
        est = MLPClassifier((16, 8), max_iter=5, random_state=seed, n_jobs=2, **config)
        return est.fit(X, y)._network_state.params_copy()

    expected = [fit(c, i) for i, c in enumerate(configs)]
    results = in_threads(lambda i: fit(configs[i], i), len(configs))
    for got, want in zip(results, expected):
        assert_array_equal(got, want)


if __name__ == "__main__":
    warnings.simplefilter("ignore", ConvergenceWarning)
    print(_dispatch.LEVEL, parallel_digest(int(sys.argv[1])))
