"""At run time: memory, threads, Ctrl-C and determinism.

* No leaks: 500 rounds of fit and predict (every solver, dense and sparse,
  the extras, a failing fit, a pickle round trip) grow the resident memory
  of a fresh process by less than 20 MB after warm-up.
* Thread safety: 8 threads predicting at once with one fitted model get
  exactly the single-threaded result, and predict writes nothing to the
  estimator (same attribute names, same objects, same parameter bytes).
* Ctrl-C: SIGINT during the C epoch loop stops the fit within one batch
  (counted in batches, so a loaded machine does not matter); the model
  keeps the weights of the last finished batch (checked against a replay of
  exactly that many batches), warns 'Training interrupted by user.' and
  predicts finite values. L-BFGS starts no loss evaluation after the signal
  and keeps its last iterate.
* Determinism: the same random_state gives bitwise identical models in one
  process and across processes; 1 and 2 BLAS threads agree to 1e-10.
"""

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from threadpoolctl import threadpool_limits

from concurrency import in_threads
from cymlp import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def run_python(code, timeout=900, **env):
    """Run ``code`` in a fresh interpreter (this one's), return its stdout."""
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                            capture_output=True, text=True, timeout=timeout,
                            env=dict(os.environ, **env))
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


# --------------------------------------------------------------------------
# Memory
# --------------------------------------------------------------------------

LEAK_SCRIPT = """
import gc, json, pickle, warnings
import numpy as np
import scipy.sparse as sp
from cymlp import MLPClassifier, MLPRegressor
warnings.simplefilter("ignore")

def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0

rng = np.random.RandomState(0)
X = rng.randn(300, 20)
Xs = sp.csr_matrix(np.where(np.abs(X) > 1.0, X, 0.0))
y = (X[:, 0] + X[:, 1] > 0).astype(int)
Y = X[:, :3] @ rng.randn(3, 3)
X32 = X.astype(np.float32)
# Predictions run on 3000 rows (3 chunks of scratch of ~0.4 MB each): leaking
# predict's scratch, or any per-call copy of X, 500 times would pass 20 MB.
X_big = np.tile(X, (10, 1))
Xs_big = sp.vstack([Xs] * 10).tocsr()
hidden = (48, 48)

def one_round(i):
    kind = i % 6
    if kind == 0:
        est = MLPClassifier(hidden, max_iter=2, random_state=i).fit(X, y)
        est.predict_proba(X_big)
    elif kind == 1:
        est = MLPClassifier(hidden, solver="sgd", max_iter=2, random_state=i).fit(Xs, y)
        est.partial_fit(Xs, y)
        est.predict(Xs_big)
    elif kind == 2:
        est = MLPRegressor(hidden_layer_sizes=hidden, solver="lbfgs", max_iter=3,
                           random_state=i).fit(X, Y)
        est.predict(X_big)
    elif kind == 3:
        est = MLPClassifier(hidden, activation=["prelu", "gelu"], batch_norm=True,
                            dropout=0.2, max_iter=2, random_state=i).fit(X32, y)
        est.hidden_activations(X32)
        pickle.loads(pickle.dumps(est)).predict_proba(X_big.astype(np.float32))
    elif kind == 4:
        est = MLPRegressor(hidden_layer_sizes=hidden, solver="sgd",
                           learning_rate_init=1e300, max_iter=2, random_state=i)
        try:
            est.fit(X, Y)  # diverges: the failure path frees what it allocated
        except ValueError:
            pass
        est.set_params(learning_rate_init=1e-3).fit(X, Y).predict(X_big)
    else:
        est = MLPRegressor(hidden_layer_sizes=hidden, batch_norm=True, solver="lbfgs",
                           max_iter=3, random_state=i).fit(X, Y[:, 0])
        est.predict(X_big)

for i in range(30):  # warm-up: caches, allocator arenas, lazy imports
    one_round(i)
gc.collect()
start = rss_mb()
for i in range(500):
    one_round(i)
gc.collect()
print(json.dumps({"start_mb": start, "end_mb": rss_mb()}))
"""


def test_500_rounds_of_fit_and_predict_do_not_leak():
    # One BLAS thread: leaks do not depend on it, and small products run
    # faster without waking BLAS workers
    output = run_python(LEAK_SCRIPT, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    result = json.loads(output.strip().splitlines()[-1])
    growth = result["end_mb"] - result["start_mb"]
    assert growth < 20.0, f"resident memory grew by {growth:.1f} MB over 500 rounds"


# --------------------------------------------------------------------------
# Threads
# --------------------------------------------------------------------------


def _thread_models():
    rng = np.random.RandomState(0)
    X = rng.randn(400, 12)
    y = np.digitize(X[:, 0] + X[:, 1], [-0.7, 0.7])
    Y = X[:, :2] @ rng.randn(2, 2)
    Xs = sp.csr_matrix(np.where(np.abs(X) > 0.8, X, 0.0))
    kw = dict(max_iter=10, random_state=0)
    return {
        "dense": (MLPClassifier((32, 16), **kw).fit(X, y), X),
        "sparse-trained": (MLPClassifier((32,), **kw).fit(Xs, y), Xs),
        "batch-norm-prelu": (MLPClassifier((24, 8), activation=["prelu", "elu"],
                                           batch_norm=True, dropout=0.2, **kw).fit(X, y), X),
        "float32": (MLPRegressor(hidden_layer_sizes=(32,), **kw).fit(X.astype(np.float32), Y),
                    X.astype(np.float32)),
        "lbfgs-multi-output": (MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs",
                                            **kw).fit(X, Y), X),
    }


def _fingerprint(est):
    """Names, object ids, and the parameter bytes of everything the estimator holds."""
    ids = {}
    for name, value in vars(est).items():
        ids[name] = id(value)
        if isinstance(value, list):
            ids.update({f"{name}[{i}]": id(v) for i, v in enumerate(value)})
    digest = hashlib.sha256(est._network_state.params_copy().tobytes()
                            + est._network_state.running_copy().tobytes())
    return ids, digest.hexdigest()


@pytest.mark.parametrize("kind", ["dense", "sparse-trained", "batch-norm-prelu", "float32",
                                  "lbfgs-multi-output"])
def test_concurrent_predictions_equal_single_threaded(kind):
    est, X_train = _thread_models()[kind]
    # More rows than one prediction chunk (1024), dense and in the training format
    inputs = [X_train, sp.vstack([X_train] * 3).tocsr() if sp.issparse(X_train)
              else np.vstack([X_train] * 3)]
    if sp.issparse(X_train):
        inputs.append(X_train.toarray())
    methods = ["predict", "hidden_activations"] + (
        ["predict_proba"] if isinstance(est, MLPClassifier) else [])
    expected = {(m, i): getattr(est, m)(X) for m in methods for i, X in enumerate(inputs)}
    before = _fingerprint(est)

    n_threads, rounds = 8, 15
    barrier = threading.Barrier(n_threads)

    def worker(seed):
        order = np.random.RandomState(seed).permutation(len(expected) * rounds)
        keys = list(expected) * rounds
        barrier.wait()
        for j in order:
            method, i = keys[j]
            got = getattr(est, method)(inputs[i])
            want = expected[method, i]
            if method == "hidden_activations":
                for g, w in zip(got, want):
                    assert_array_equal(g, w)
            else:
                assert_array_equal(got, want)

    in_threads(worker, n_threads)    # raises a thread's failure; fails if one hangs
    assert _fingerprint(est) == before, "predict changed the estimator's attributes"


def test_concurrent_predictions_on_an_unpickled_model():
    # The layout cache is rebuilt lazily after unpickling: threads racing to
    # build it still get the same results, and nothing else is written.
    import pickle
    est, X = _thread_models()["batch-norm-prelu"]
    expected = est.predict_proba(X)
    back = pickle.loads(pickle.dumps(est))
    keys = set(vars(back))
    barrier = threading.Barrier(8)

    def worker(i):
        barrier.wait()
        return back.predict_proba(X)

    for r in in_threads(worker, 8):
        assert_array_equal(r, expected)
    assert set(vars(back)) == keys


def test_fits_in_threads_are_independent():
    # Fits in worker threads (no signal checks there) give the same models as
    # in the main thread; each fit owns its workspace.
    rng = np.random.RandomState(1)
    X = rng.randn(300, 8)
    y = (X[:, 0] > 0).astype(int)
    configs = [dict(solver=s, activation=a, random_state=i)
               for i, (s, a) in enumerate([("adam", "relu"), ("sgd", "tanh"),
                                           ("lbfgs", "gelu"), ("adam", "prelu")])]
    expected = [MLPClassifier((16,), max_iter=5, **c).fit(X, y)._network_state.params_copy()
                for c in configs]
    results = in_threads(lambda i: MLPClassifier((16,), max_iter=5, **configs[i])
                         .fit(X, y)._network_state.params_copy(), len(configs))
    for got, want in zip(results, expected):
        assert_array_equal(got, want)


# --------------------------------------------------------------------------
# Ctrl-C
# --------------------------------------------------------------------------


def _epoch_data(n, d, sparse):
    rng = np.random.RandomState(0)
    X = rng.randn(n, d)
    y = (X[:, 0] + np.sin(X[:, 1]) > 0).astype(int)
    if sparse:
        X = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0))
    return X, y


def _adam_steps(est):
    """Adam steps done so far by est's fit (read from another thread)."""
    optimizer = getattr(est, "_optimizer", None)
    return -1 if optimizer is None else int(optimizer.t[0])


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_interrupt_stops_within_one_batch_and_keeps_last_batch_weights(sparse,
                                                                     fit_interrupted):
    # Counted in batches, not seconds (the machine may be loaded): the signal
    # goes once 3 batches are done, and the fit must stop after finishing the
    # batch it was in. An epoch of 2000 batches does not end first.
    params = dict(hidden_layer_sizes=(512, 512), solver="adam", batch_size=64,
                  shuffle=False, max_iter=5, random_state=0)
    n_batches = 2000
    X, y = _epoch_data(n_batches * params["batch_size"], 16, sparse)
    est = MLPClassifier(**params)
    result = fit_interrupted(est, X, y, when=lambda: _adam_steps(est) >= 3,
                             at_signal=lambda: _adam_steps(est))
    assert "Training interrupted by user." in result.messages
    # Stopped inside the first epoch, right after the signal
    assert est.n_iter_ == 0 and est.loss_curve_ == [] and est.t_ == 0
    k = int(est._optimizer.t[0])
    # only the batch running when the signal came may finish after it
    assert result.at_signal <= k <= result.at_signal + 1, (
        f"{k - result.at_signal} batches after the signal")
    assert result.latency < 60, f"fit returned {result.latency:.1f} s after SIGINT"
    # The weights are those of the last finished batch: exactly k Adam steps
    n = k * params["batch_size"]
    replay = MLPClassifier(**dict(params, max_iter=1)).fit(X[:n], y[:n])
    assert_array_equal(est._network_state.params_copy(), replay._network_state.params_copy())
    proba = est.predict_proba(X[:500])
    assert np.isfinite(proba).all()


def test_interrupt_in_a_later_epoch_keeps_the_finished_epochs(fit_interrupted):
    # Interrupted in the third epoch or later: the finished epochs are kept,
    # with their loss, gradient norms and sample count.
    rng = np.random.RandomState(0)
    X = rng.randn(2000, 40)
    y = (X[:, 0] + np.sin(X[:, 1]) > 0).astype(int)
    est = MLPClassifier(hidden_layer_sizes=(100, 100), batch_size=100, max_iter=300,
                        tol=0.0, n_iter_no_change=300, random_state=0)
    result = fit_interrupted(est, X, y, when=lambda: _adam_steps(est) >= 45,
                             at_signal=lambda: _adam_steps(est))
    assert "Training interrupted by user." in result.messages
    k = int(est._optimizer.t[0])
    assert result.at_signal <= k <= result.at_signal + 1
    assert est.n_iter_ == k // 20 >= 2  # 20 batches per epoch
    assert len(est.loss_curve_) == est.n_iter_ and est.t_ == est.n_iter_ * 2000
    assert est.gradient_norms_.shape == (est.n_iter_, 3)
    assert np.isfinite(est.loss_curve_).all() and est.loss_ == est.loss_curve_[-1]
    assert np.isfinite(est.predict_proba(X[:500])).all()


def test_interrupt_during_lbfgs_keeps_the_last_iterate(fit_interrupted, monkeypatch):
    # Counted in loss evaluations, not seconds: the signal goes once 6
    # evaluations are done (at least one iteration).
    from cymlp._dispatch import network as _network   # the SIMD level fit uses
    started = []
    evaluate = _network.loss_and_gradient

    def counted(*args, **kwargs):
        started.append(None)
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(_network, "loss_and_gradient", counted)
    X, y = _epoch_data(19200, 64, False)
    params = dict(hidden_layer_sizes=(256,), solver="lbfgs", max_iter=500, tol=0.0,
                  max_fun=100000, random_state=0)
    est = MLPClassifier(**params)
    result = fit_interrupted(est, X, y, when=lambda: len(started) >= 6,
                             at_signal=lambda: len(started))
    assert "Training interrupted by user." in result.messages
    # the evaluation running at the signal finishes; L-BFGS starts no other,
    # and fit makes one more, at the kept iterate, for loss_ (which may
    # already have started when the count was read)
    assert result.at_signal <= len(started) <= result.at_signal + 1, (
        f"{len(started) - result.at_signal} evaluations started after the signal")
    assert result.latency < 60, f"fit returned {result.latency:.1f} s after SIGINT"
    monkeypatch.undo()
    k = est.n_iter_
    assert 1 <= k < params["max_iter"]
    assert est.gradient_norms_.shape[0] == k
    # the last iterate: the model L-BFGS reaches in exactly k iterations
    replay = MLPClassifier(**dict(params, max_iter=k)).fit(X, y)
    assert_array_equal(est._network_state.params_copy(), replay._network_state.params_copy())
    assert np.isfinite(est.loss_)
    assert_allclose(est.loss_, replay.loss_, rtol=1e-12)
    assert np.isfinite(est.predict_proba(X[:500])).all()


# --------------------------------------------------------------------------
# Determinism
# --------------------------------------------------------------------------

DETERMINISM_CONFIGS = {
    "adam-dense": "MLPClassifier((16, 8), max_iter=8, random_state=3).fit(X, y)",
    "sgd-sparse": "MLPClassifier((16,), solver='sgd', max_iter=8, random_state=4)"
                  ".fit(sp.csr_matrix(np.where(X > 0.3, X, 0.0)), y)",
    "lbfgs-regressor": "MLPRegressor(hidden_layer_sizes=(12,), solver='lbfgs', max_iter=30,"
                       " random_state=5).fit(X, Y)",
    "extras-float32": "MLPClassifier((12, 6), activation=['prelu', 'gelu'], dropout=0.3,"
                      " batch_norm=True, weight_init='he_normal', max_iter=8,"
                      " random_state=6).fit(X.astype(np.float32), y)",
    "early-stopping": "MLPClassifier((10,), solver='sgd', early_stopping=True,"
                      " learning_rate='adaptive', max_iter=8, random_state=7).fit(X, y)",
    "random-state-none-seeded": "MLPRegressor(hidden_layer_sizes=(8,), max_iter=8,"
                                " random_state=np.random.RandomState(8)).fit(X, Y[:, 0])",
}

DETERMINISM_SETUP = """
import hashlib, json, warnings
import numpy as np
import scipy.sparse as sp
from cymlp import MLPClassifier, MLPRegressor
warnings.simplefilter("ignore")
rng = np.random.RandomState(0)
X = rng.randn(300, 10)
y = np.digitize(X[:, 0] - X[:, 1], [-0.5, 0.5])
Y = X[:, :3] @ rng.randn(3, 2)

def digest(est):
    h = hashlib.sha256(est._network_state.params_copy().tobytes())
    h.update(est._network_state.running_copy().tobytes())
    h.update(np.asarray(getattr(est, "loss_curve_", None) or [], dtype=float).tobytes())
    return h.hexdigest()
"""


def _digests_here():
    namespace = {}
    exec(DETERMINISM_SETUP, namespace)  # noqa: S102 - the same code as the subprocess
    return {name: namespace["digest"](eval(code, namespace))  # noqa: S307
            for name, code in DETERMINISM_CONFIGS.items()}


def test_same_random_state_is_bitwise_identical_across_runs():
    assert _digests_here() == _digests_here()


def test_same_random_state_is_bitwise_identical_across_processes():
    code = DETERMINISM_SETUP + "\nprint(json.dumps({%s}))" % ", ".join(
        f"{name!r}: digest({expr})" for name, expr in DETERMINISM_CONFIGS.items())
    other = json.loads(run_python(code).strip().splitlines()[-1])
    assert other == _digests_here()


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_one_and_two_blas_threads_agree(solver):
    # Layers big enough that OpenBLAS splits the products between threads
    rng = np.random.RandomState(0)
    X = rng.randn(1000, 100)
    y = (X[:, :5].sum(axis=1) > 0).astype(int)
    params = dict(hidden_layer_sizes=(256, 128), solver=solver, max_iter=5,
                  batch_size=250, random_state=0)
    models = {}
    for n_threads in (1, 2):
        with threadpool_limits(limits=n_threads, user_api="blas"):
            models[n_threads] = MLPClassifier(**params).fit(X, y)
    one, two = models[1], models[2]
    assert_allclose(two._network_state.params_copy(), one._network_state.params_copy(), rtol=1e-10, atol=1e-10)
    assert_allclose(two.predict_proba(X), one.predict_proba(X), rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------
# The bounds-checked build
# --------------------------------------------------------------------------


@pytest.mark.skipif(os.environ.get("CYMLP_EXPECT_BOUNDSCHECK") != "1",
                    reason="set CYMLP_EXPECT_BOUNDSCHECK=1 when testing a "
                           "-Dcython-debug=true build")
def test_kernels_are_built_with_bounds_checks():
    # Taking the address of the first element of an empty buffer is an
    # out-of-range index: a bounds-checked build raises IndexError, a release
    # build computes the (unused) address and returns harmlessly.
    from cymlp._dispatch import load_entries
    with pytest.raises(IndexError):
        load_entries("baseline").loss_delta("squared_error", np.zeros((0, 1)), np.zeros((0, 1)))