"""Runtime CPU dispatch: every SIMD level computes the same bits.

The network is built once per SIMD level (see src/cymlp/_dispatch.py). These
tests compare each level this machine runs against the baseline, bit for bit:
the kernels directly (every activation, head and extra, float32 and float64)
and whole fits in a fresh interpreter per level with CYMLP_SIMD set. They
also check the level choice itself and ``show_config``.

Run as a script (``python tests/test_dispatch.py``), this file prints the
digest of the fits for the level chosen in this process.
"""

import hashlib
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

import cymlp
import kernel_calls
from cymlp import _dispatch, _layout
from cymlp._activations import ACTIVATION_CODES

LEVELS = _dispatch.available_levels()
WIDER = [level for level in LEVELS if level != "baseline"]
HEADS = ["squared_error", "binary_log_loss", "log_loss", "poisson"]


def _targets(head, rng, n, k):
    if head == "log_loss":
        return np.eye(k)[rng.integers(0, k, n)]
    if head == "binary_log_loss":
        return rng.integers(0, 2, (n, k)).astype(float)
    if head == "poisson":
        return rng.poisson(2.0, (n, k)).astype(float)
    return rng.normal(size=(n, k))


def _loss_and_gradient(network, activation, head, dtype, extras):
    """One full-batch loss and gradient through ``network`` (a level's module)."""
    rng = np.random.default_rng(7)
    n, k = 67, 3                       # odd sizes: vector bodies and scalar tails
    units = [13, 37, 21, k]
    layout = _layout.Layout(units, [activation] * 2, head, 0.05,
                            [0.2 * extras, 0.0], [extras, extras])
    X = rng.normal(size=(n, units[0])).astype(dtype)
    Y = _targets(head, rng, n, k).astype(dtype)
    sw = rng.uniform(0.5, 2.0, n).astype(dtype)
    params = rng.uniform(-0.8, 0.8, layout.n_params).astype(dtype)
    running = np.zeros(layout.n_running, dtype=dtype)
    if layout.n_running:
        running[layout.n_running // 2:] = 1.0
    loss, grads, norms = kernel_calls.loss_and_gradient(
        layout, params, X, Y, sw, 1e-3, 1.0, running, 0.5, network=network)
    pred = network.predict(layout, params, X, running)
    return np.float64(loss).tobytes() + grads.tobytes() + norms.tobytes() + pred.tobytes()


@pytest.mark.skipif(not WIDER, reason="this CPU or build has only the baseline level")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("activation", sorted(ACTIVATION_CODES))
def test_kernels_are_bitwise_identical_at_every_level(activation, head, dtype):
    extras = activation in ("relu", "tanh")      # dropout + batch norm on two of them
    baseline = _loss_and_gradient(_dispatch.load("baseline"), activation, head, dtype,
                                  extras)
    for level in WIDER:
        got = _loss_and_gradient(_dispatch.load(level), activation, head, dtype, extras)
        assert got == baseline, f"{level} differs from baseline"


def _fits():
    """(name, class, parameters, X, y, sample_weight, how) for fit_digests: every
    activation, head, solver and extra, dense and sparse X, fit, warm start and
    partial_fit."""
    from cymlp import MLPClassifier as C, MLPRegressor as R

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 20))
    y_cls = (X[:, 0] * X[:, 1] + np.sin(3 * X[:, 2]) > 0).astype(int) + (X[:, 3] > 1)
    y_bin = y_cls > 0
    y_multilabel = np.column_stack([y_bin, X[:, 4] > 0, X[:, 5] + X[:, 6] > 0]).astype(int)
    y_reg = np.column_stack([np.sin(X[:, 0]) + X[:, 1] ** 2, X[:, 2] * X[:, 3]])
    y_poisson = np.exp(y_reg[:, 0] / 4)
    X_sparse = sp.random(300, 20, density=0.3, format="csr", random_state=1)
    sw = rng.uniform(0.2, 2.0, 300)
    return [
        ("tanh-deep-adam", C, dict(hidden_layer_sizes=(32,) * 4, activation="tanh"),
         X, y_cls, None, "fit"),
        ("logistic-sgd-nesterov", C, dict(hidden_layer_sizes=(40, 17), activation="logistic",
                                          solver="sgd", nesterovs_momentum=True),
         X, y_cls, None, "fit"),
        ("relu-lbfgs", C, dict(hidden_layer_sizes=(33,), solver="lbfgs"), X, y_cls, None, "fit"),
        ("gelu-prelu-dropout-bn", C, dict(hidden_layer_sizes=(24, 24), activation=["gelu", "prelu"],
                                          dropout=0.1, batch_norm=True), X, y_bin, None, "fit"),
        ("leaky-sparse", C, dict(hidden_layer_sizes=(19,), activation="leaky_relu"),
         X_sparse, y_cls, None, "fit"),
        ("elu-regressor", R, dict(hidden_layer_sizes=(100,), activation="elu"), X, y_reg, None,
         "fit"),
        ("identity-poisson", R, dict(hidden_layer_sizes=(30,), activation="identity",
                                     loss="poisson"), X, y_poisson, None, "fit"),
        ("relu-wide-row-by-row", R, dict(hidden_layer_sizes=(150,)), X, y_reg[:, 0], None,
         "fit"),
        ("logistic-sgd-momentum-invscaling-multilabel", C,
         dict(hidden_layer_sizes=(16,), activation="logistic", solver="sgd", momentum=0.5,
              nesterovs_momentum=False, learning_rate="invscaling", learning_rate_init=0.05),
         X, y_multilabel, None, "fit"),
        ("tanh-sgd-adaptive-early-stopping-weighted", C,
         dict(hidden_layer_sizes=(12,), activation="tanh", solver="sgd",
              learning_rate="adaptive", early_stopping=True, n_iter_no_change=2, tol=0.5),
         X, y_cls, sw, "fit"),
        ("adam-early-stopping-regressor", R,
         dict(hidden_layer_sizes=(20,), early_stopping=True, validation_fraction=0.2),
         X, y_reg, None, "fit"),
        ("class-weight-he-normal", C, dict(hidden_layer_sizes=(15,), class_weight="balanced",
                                           weight_init="he_normal"), X, y_cls, None, "fit"),
        ("glorot-batch-norm-relu", C, dict(hidden_layer_sizes=(18, 9), batch_norm=True,
                                           weight_init="glorot_uniform", batch_size=64),
         X, y_cls, None, "fit"),
        ("dropout-tanh-sgd", R, dict(hidden_layer_sizes=(25,), activation="tanh", solver="sgd",
                                     dropout=0.3, learning_rate_init=0.01), X, y_reg, sw, "fit"),
        ("partial-fit-sgd", R, dict(hidden_layer_sizes=(10,), solver="sgd",
                                    learning_rate_init=0.01), X, y_reg, None, "partial_fit"),
        ("warm-start-adam", C, dict(hidden_layer_sizes=(10,), warm_start=True), X, y_cls, None,
         "warm_start"),
        ("lbfgs-batch-norm-multi-output", R, dict(hidden_layer_sizes=(14,), solver="lbfgs",
                                                  batch_norm=True), X, y_reg, sw, "fit"),
        ("gelu-prelu-lbfgs-sparse", R, dict(hidden_layer_sizes=(8, 6), solver="lbfgs",
                                            activation=["gelu", "prelu"]),
         X_sparse, y_reg[:, 1], None, "fit"),
        ("no-hidden-layer", C, dict(hidden_layer_sizes=()), X, y_multilabel, None, "fit"),
        ("glorot-normal-he-uniform", R, dict(hidden_layer_sizes=(9, 9), weight_init="he_uniform",
                                             activation=["elu", "gelu"]),
         X, y_reg, None, "fit"),
    ]


def fit_spec(spec, dtype, max_iter=15, more_iter=5, **extra):
    """(estimator, X) of one fit of ``_fits`` in ``dtype``: ``max_iter`` epochs
    (three partial_fit calls; a warm-started fit: ``more_iter`` more)."""
    name, cls, params, X, y, sw, how = spec
    X = X.astype(dtype)
    est = cls(max_iter=max_iter, random_state=0, **extra, **params)
    if how == "partial_fit":
        for _ in range(3):
            est.partial_fit(X, y, sample_weight=sw)
    else:
        est.fit(X, y, sample_weight=sw)
        if how == "warm_start":
            est.set_params(max_iter=more_iter).fit(X, y, sample_weight=sw)
    return est, X


def model_digest(est, X):
    """sha256 of a fitted model's parameters, curves and outputs on X."""
    from cymlp import MLPClassifier

    digest = hashlib.sha256()
    curves = [getattr(est, "loss_curve_", None) or [est.loss_],
              getattr(est, "validation_scores_", None) or [], est.gradient_norms_]
    for array in est.coefs_ + est.intercepts_ + [np.asarray(c) for c in curves]:
        digest.update(np.ascontiguousarray(array).tobytes())
    out = est.predict_proba(X) if isinstance(est, MLPClassifier) else est.predict(X)
    digest.update(np.ascontiguousarray(out).tobytes())
    return digest.hexdigest()


def fit_digests():
    """{fit name: sha256} of the fitted parameters, curves and predictions of
    every fit of ``_fits``, in float64 and float32."""
    digests = {}
    for dtype in (np.float64, np.float32):
        for spec in _fits():
            digests[f"{spec[0]}-{np.dtype(dtype).name}"] = model_digest(*fit_spec(spec, dtype))
    return digests


def fit_digest():
    """One sha256 over every fit of ``fit_digests``."""
    return hashlib.sha256("".join(fit_digests().values()).encode()).hexdigest()


def _run_at(level, *args):
    env = dict(os.environ, CYMLP_SIMD=level)
    return subprocess.run([sys.executable, *args], env=env, capture_output=True,
                          text=True)


@pytest.mark.skipif(not WIDER, reason="this CPU or build has only the baseline level")
def test_fits_are_bitwise_identical_at_every_level():
    digests = {}
    for level in LEVELS:
        proc = _run_at(level, __file__)
        assert proc.returncode == 0, proc.stderr
        chosen, digest = proc.stdout.split()
        assert chosen == level
        digests[level] = digest
    assert len(set(digests.values())) == 1, digests


def test_only_the_chosen_level_is_imported():
    proc = _run_at("", "-c", "import sys, cymlp; print(cymlp._dispatch.LEVEL, sorted("
                   "m for m in sys.modules if m.startswith('cymlp._network')))")
    assert proc.returncode == 0, proc.stderr
    level, modules = proc.stdout.split(" ", 1)
    assert level == LEVELS[-1]          # the widest level by default
    assert modules.strip() == repr([f"cymlp.{_dispatch.MODULES[level]}"])


def test_unknown_level_is_refused():
    proc = _run_at("sse9", "-c", "import cymlp")
    assert proc.returncode != 0
    assert "CYMLP_SIMD='sse9' is not a SIMD level" in proc.stderr


def test_a_level_the_cpu_lacks_is_refused(monkeypatch):
    monkeypatch.setattr(_dispatch, "cpu_levels", lambda: ("baseline",))
    monkeypatch.setattr(_dispatch._build_config, "SIMD_LEVELS", ("baseline", "avx2"))
    assert _dispatch.choose_level("") == "baseline"
    with pytest.raises(RuntimeError, match="CYMLP_SIMD=avx2: this CPU lacks some of "
                                           "avx2, fma, bmi, bmi2"):
        _dispatch.choose_level("avx2")
    with pytest.raises(RuntimeError, match="no 'avx512' kernels"):
        _dispatch.choose_level("avx512")


def _cpuinfo_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return None


@pytest.mark.skipif(_cpuinfo_flags() is None or not cymlp._cpu.is_x86_64(),
                    reason="needs Linux's /proc/cpuinfo on x86-64")
def test_cpu_levels_match_the_kernels_view_of_the_cpu():
    flags = _cpuinfo_flags()
    expected = ["baseline"]
    if {"avx2", "fma", "bmi1", "bmi2"} <= flags:
        expected.append("avx2")
        if {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"} <= flags:
            expected.append("avx512")
    assert cymlp._cpu.cpu_levels() == tuple(expected)


@pytest.mark.skipif(not cymlp._cpu.is_x86_64(), reason="x86-64 builds the wider levels")
def test_x86_64_builds_the_avx2_and_avx512_levels():
    assert {"baseline", "avx2", "avx512"} <= set(_dispatch.built_levels())


def test_show_config_names_the_level_and_versions(capsys):
    import numpy
    import scipy
    import sklearn

    cymlp.show_config()
    out = capsys.readouterr().out
    assert f"chosen    {_dispatch.LEVEL}\n" in out
    assert f"cpu runs  {', '.join(cymlp._cpu.cpu_levels())}\n" in out
    for name, module in (("numpy", numpy), ("scipy", scipy), ("scikit-learn", sklearn)):
        assert f"{name}" in out and module.__version__ in out
    assert "cymlp" in out and cymlp.__version__ in out
    assert "native-simd" in out and "sanitizers" in out and "cython-debug" in out
    proc = _run_at(_dispatch.LEVEL, "-m", "cymlp", "info")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "versions:"
    assert f"chosen    {_dispatch.LEVEL}" in proc.stdout


if __name__ == "__main__":
    warnings.simplefilter("ignore", ConvergenceWarning)    # 15 epochs on purpose
    if sys.argv[1:] == ["--each"]:                         # one line per fit
        for name, digest in fit_digests().items():
            print(_dispatch.LEVEL, digest, name)
    else:
        print(_dispatch.LEVEL, fit_digest())
