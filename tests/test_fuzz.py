"""Fuzzing fit, predict and the constructor parameters.

Every generated case must end in one of two ways:

* it fits, and predicts finite values of the right shape (probabilities in
  [0, 1], labels among ``classes_``); the prediction does not depend on the
  layout X came in (C/Fortran order, strided or reversed views, sparse
  CSR/CSC/COO, Python lists, int/bool/float16/object dtypes);
* or it raises ValueError or TypeError whose message names the problem of
  that case (an empty X, a NaN, a complex value, an unknown parameter value,
  weights that diverged when the case can make them diverge, ...).

Anything else fails: another exception type, a message naming some other
problem, NaN or inf in a prediction, a crash, or an example that hangs (a
watchdog dumps the stacks and kills the process after ``HANG_SECONDS``).

The default run uses hypothesis profile ``cymlp-ci`` (few examples, the same
on every run); ``-m slow`` runs the same properties with profile
``cymlp-slow`` (thousands of examples, random). See tests/conftest.py.
"""

import faulthandler
import re
import time
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, note, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from cymlp import MLPClassifier, MLPRegressor

ACTIVATIONS = ["identity", "logistic", "tanh", "relu", "leaky_relu", "prelu", "elu",
               "gelu"]
WEIGHT_INITS = ["auto", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal"]
CLASSIFICATION = ("binary", "multiclass", "multilabel")
TASKS = CLASSIFICATION + ("regression", "multi-output", "poisson")
DTYPES = ["float64", "float32", "float16", "int64", "int32", "uint8", "bool", "object",
          "object-str", "complex"]
LAYOUTS = ["C", "F", "strided", "reversed", "list", "csr", "csc", "coo"]
SPARSE_DTYPES = {"float64", "float32", "int64", "int32", "uint8", "bool", "complex"}
# Largest magnitude the "huge" special writes, per dtype (1e300 for float64).
HUGE = {"float64": 1e300, "float32": 1e38, "float16": 6e4, "int64": 2**62,
        "int32": 2**31 - 1, "uint8": 255, "object": 1e300, "object-str": 1e300,
        "complex": 1e300, "bool": 1}

HANG_SECONDS = 120  # one example; the whole process is killed past this
SLOW_EXAMPLE_SECONDS = 30  # one example that takes longer than this fails

BUDGETS = [
    pytest.param("cymlp-ci", id="ci"),
    pytest.param("cymlp-slow", id="slow", marks=pytest.mark.slow),
]

# What an error message must say, per problem of a case.
MESSAGES = {
    "no-samples": r"0 sample|Expected 2D array",
    "nan-X": r"Input X contains NaN",
    "inf-X": r"Input X contains infinity",
    "nan-y": r"Input y contains NaN",
    "inf-y": r"Input y contains infinity",
    "complex": r"[Cc]omplex",
    "string": r"could not convert string to float|bytes/strings",
    "wrong-features": r"features",
    "early-stopping": (r"validation set is too small|train set will be empty|"
                       r"test_size|least populated class|number of classes|"
                       r"early_stopping"),
    "dropout-lbfgs": r"dropout needs a stochastic solver",
    "class-weight": r"class_weight|[Cc]lass weight|classes.*not in class_weight",
    "diverges": r"non-finite (parameter weights|loss|outputs)",
    "partial-fit-classes": r"classes",
    "float32-range": r"beyond the range of float32",
}


def run_property(prop, strategy, profile):
    """Run ``prop`` over ``strategy`` with a hypothesis profile from conftest.

    Each example runs under a watchdog (faulthandler kills the process with
    every thread's stack after HANG_SECONDS) and must finish within
    SLOW_EXAMPLE_SECONDS.
    """
    def guarded(case):
        faulthandler.dump_traceback_later(HANG_SECONDS, exit=True)
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                prop(case)
        finally:
            faulthandler.cancel_dump_traceback_later()
        elapsed = time.perf_counter() - start
        assert elapsed < SLOW_EXAMPLE_SECONDS, f"one example took {elapsed:.1f} s"

    settings(settings.get_profile(profile))(given(strategy)(guarded))()


def assert_error_names_problem(exc, problems):
    """``exc`` is a ValueError/TypeError whose message matches one of ``problems``."""
    message = str(exc)
    patterns = [MESSAGES.get(p, p) for p in problems]
    assert isinstance(exc, (ValueError, TypeError)), (
        f"{type(exc).__name__} is neither ValueError nor TypeError: {message}")
    assert any(re.search(p, message) for p in patterns), (
        f"{type(exc).__name__}({message[:300]!r}) names none of the problems "
        f"{sorted(problems)} of this case")


# --------------------------------------------------------------------------
# Inputs: X in any dtype and layout, with special values
# --------------------------------------------------------------------------


@st.composite
def matrices(draw, n, d, dtype=None, layout=None):
    """(X as passed, X as a float64 C array or None if not convertible, the
    problems of X that fit must name, whether X holds huge values)."""
    rng = np.random.RandomState(draw(st.integers(0, 2**32 - 1)))
    dtype = dtype or draw(st.sampled_from(DTYPES))
    layout = layout or draw(st.sampled_from(LAYOUTS))
    scale = draw(st.sampled_from([1.0, 1.0, 1e-3, 1e3]))
    values = rng.randn(n, d) * scale
    if n and d and draw(st.booleans()):  # constant features
        constant = rng.rand(d) < 0.5
        values[:, constant] = draw(st.sampled_from([0.0, 1.0, -3.5]))
    specials = draw(st.lists(st.sampled_from(["huge", "-huge", "tiny", "nan", "inf",
                                              "-inf"]), max_size=2, unique=True))
    if dtype in ("int64", "int32", "uint8", "bool"):
        specials = [s for s in specials if s in ("huge", "-huge")]
        if dtype in ("uint8", "bool"):
            specials = [s for s in specials if s == "huge"]
    for special in specials:
        where = rng.rand(n, d) < draw(st.sampled_from([0.1, 0.5, 1.0]))
        values[where] = {"huge": HUGE[dtype], "-huge": -HUGE[dtype], "tiny": 5e-324,
                         "nan": np.nan, "inf": np.inf, "-inf": -np.inf}[special]
    if dtype in ("int64", "int32", "uint8"):
        info = np.iinfo(dtype)
        X = np.clip(np.round(values), info.min, info.max).astype(dtype)
    elif dtype == "bool":
        X = values > 0
    elif dtype in ("object", "object-str"):
        X = values.astype(object)
        if dtype == "object-str" and n and d:
            X[rng.randint(n), rng.randint(d)] = "oops"
    elif dtype == "complex":
        X = values + 1j * draw(st.sampled_from([0.0, 1.0]))
    else:
        X = values.astype(dtype)

    problems = set()
    if n == 0:
        problems.add("no-samples")
    if dtype == "complex":
        problems.add("complex")
    if dtype == "object-str" and n and d:
        problems.add("string")
    dense = None
    if not problems & {"complex", "string"}:
        dense = np.ascontiguousarray(X, dtype=np.float64)
        if np.isnan(dense).any():
            problems.add("nan-X")
        if np.isinf(dense).any():
            problems.add("inf-X")
    huge = bool(dense is not None
                and np.abs(dense[np.isfinite(dense)]).max(initial=0.0) > 1e15)

    if layout in ("csr", "csc", "coo") and dtype in SPARSE_DTYPES:
        X = {"csr": sp.csr_matrix, "csc": sp.csc_matrix, "coo": sp.coo_matrix}[layout](X)
    elif layout == "F":
        X = np.asfortranarray(X)
    elif layout == "strided":
        wide = np.empty((2 * n, 3 * d), dtype=X.dtype)
        wide[::2, ::3] = X
        X = wide[::2, ::3]
    elif layout == "reversed":
        X = X[::-1, ::-1].copy()[::-1, ::-1]
    elif layout == "list":
        X = X.tolist()
    note(f"X: {dtype}, {layout}, shape ({n}, {d}), specials {specials}, scale {scale}")
    return X, dense, problems, huge


def targets(rng, task, n, n_out):
    if task == "binary":
        labels = [np.array([0, 1]), np.array(["no", "yes"], dtype=object),
                  np.array([-1.0, 2.0])][rng.randint(3)]
        return labels[rng.randint(0, 2, n)]
    if task == "multiclass":
        return rng.randint(0, n_out, n)
    if task == "multilabel":
        return rng.randint(0, 2, (n, n_out))
    if task == "regression":
        return rng.randn(n)
    if task == "multi-output":
        return rng.randn(n, n_out)
    return rng.poisson(2.0, n).astype(float)


# --------------------------------------------------------------------------
# Estimators: every solver, activation, extra, and extreme-but-valid values
# --------------------------------------------------------------------------


@st.composite
def estimator_params(draw, task):
    n_hidden = draw(st.integers(0, 3))
    sizes = tuple(draw(st.lists(st.integers(1, 8), min_size=n_hidden, max_size=n_hidden)))
    per_layer = st.lists(st.sampled_from(ACTIVATIONS), min_size=n_hidden, max_size=n_hidden)
    activation = draw(st.sampled_from(ACTIVATIONS) | per_layer)
    solver = draw(st.sampled_from(["lbfgs", "sgd", "adam"]))
    dropout = draw(st.sampled_from([0.0, 0.0, 0.2, 0.9])
                   | st.lists(st.sampled_from([0.0, 0.5]), min_size=n_hidden,
                              max_size=n_hidden))
    params = dict(
        hidden_layer_sizes=sizes,
        activation=activation,
        solver=solver,
        alpha=draw(st.sampled_from([0.0, 1e-4, 1.0, 100.0])),
        batch_size=draw(st.just("auto") | st.integers(1, 64)),
        learning_rate=draw(st.sampled_from(["constant", "invscaling", "adaptive"])),
        learning_rate_init=draw(st.sampled_from([1e-300, 1e-9, 1e-3, 0.1, 10.0, 1e12,
                                                 1e300])),
        power_t=draw(st.sampled_from([0.0, 0.5, 5.0])),
        max_iter=draw(st.integers(1, 4)),
        shuffle=draw(st.booleans()),
        random_state=draw(st.integers(0, 2**31 - 1)),
        tol=draw(st.sampled_from([0.0, 1e-4, 1.0])),
        momentum=draw(st.sampled_from([0.0, 0.9, 1.0])),
        nesterovs_momentum=draw(st.booleans()),
        early_stopping=draw(st.booleans()),
        validation_fraction=draw(st.sampled_from([0.1, 0.5])),
        beta_1=draw(st.sampled_from([0.0, 0.9])),
        beta_2=draw(st.sampled_from([0.0, 0.999])),
        epsilon=draw(st.sampled_from([1e-300, 1e-8, 1.0])),
        n_iter_no_change=draw(st.integers(1, 3)),
        max_fun=draw(st.integers(1, 40)),
        negative_slope=draw(st.sampled_from([0.0, 0.01, 0.5, 3.0])),
        dropout=dropout,
        batch_norm=draw(st.booleans()),
        weight_init=draw(st.sampled_from(WEIGHT_INITS)),
    )
    if task in CLASSIFICATION:
        params["class_weight"] = draw(st.sampled_from([None, None, "balanced", "dict"]))
    if task == "poisson":
        params["loss"] = "poisson"
    return params


def can_diverge(params, huge):
    """Whether a fit with these settings may legitimately blow its weights up."""
    return (
        huge
        or params["learning_rate_init"] >= 1.0
        or params["alpha"] * params["learning_rate_init"] >= 1.0
        or params.get("loss") == "poisson"
        # SGD steps are not bounded: with lr 0.1 and one-sample batches a deep
        # linear net grows its weights doubly exponentially (scikit-learn too)
        or (params["solver"] == "sgd" and params["learning_rate_init"] >= 0.1)
        # Adam without second-moment memory divides a remembered first moment
        # by epsilon alone as soon as a gradient is zero (dead or dropped unit)
        or (params["solver"] == "adam" and params["beta_2"] == 0.0
            and params["epsilon"] < 1e-3)
    )


@st.composite
def fit_cases(draw):
    task = draw(st.sampled_from(TASKS))
    n = draw(st.sampled_from([0, 1, 2, 3]) | st.integers(4, 40))
    wide = draw(st.booleans())
    d = draw(st.integers(n + 1, n + 12)) if wide else draw(st.sampled_from([1, 2, 5]))
    X, dense, problems, huge = draw(matrices(n, d))
    rng = np.random.RandomState(draw(st.integers(0, 2**32 - 1)))
    n_out = draw(st.integers(2, 4))
    y = targets(rng, task, n, n_out)
    if task in ("regression", "multi-output") and n:
        special = draw(st.sampled_from([None, None, "nan", "inf", "huge"]))
        if special:
            y = y.copy()
            y.flat[rng.randint(y.size)] = {"nan": np.nan, "inf": np.inf, "huge": 1e300}[special]
            problems.add({"nan": "nan-y", "inf": "inf-y", "huge": "huge-y"}[special])
            huge = huge or special == "huge"
    params = draw(estimator_params(task))
    if params.get("class_weight") == "dict":
        labels = np.unique(y) if y.ndim == 1 else [0, 1]
        params["class_weight"] = {label: float(w) for label, w in
                                  zip(labels, rng.uniform(0.2, 5.0, len(labels)))}
    sample_weight = None
    if draw(st.booleans()):
        sample_weight = rng.uniform(0.1, 3.0, n)
    mode = draw(st.sampled_from(["fit", "fit", "warm_start", "partial_fit"]))
    if params["solver"] == "lbfgs" and mode == "partial_fit":
        mode = "fit"
    return dict(task=task, X=X, dense=dense, y=y, sample_weight=sample_weight,
                params=params, mode=mode, problems=problems, huge=huge)


def expected_fit_problems(case):
    problems = set(case["problems"]) - {"huge-y"}
    params = case["params"]
    if params["early_stopping"] and params["solver"] != "lbfgs":
        problems.add("early-stopping")
    if params["solver"] == "lbfgs":
        rates = params["dropout"]
        if any(np.atleast_1d(rates)) and params["hidden_layer_sizes"]:
            problems.add("dropout-lbfgs")
    if params.get("class_weight") is not None:
        problems.add("class-weight")
    if can_diverge(params, case["huge"]):
        problems.add("diverges")
    if case["mode"] == "partial_fit" and case["task"] in CLASSIFICATION:
        problems.add("partial-fit-classes")
    return problems


def predictions(est, X):
    """The output values: probabilities for a classifier, predictions for a regressor."""
    if isinstance(est, MLPClassifier):
        return est.predict_proba(X)
    return est.predict(X)


def assert_same_as_dense(est, X, out, dense, huge):
    """The layout X came in does not change the prediction.

    Dense input of any order, stride or dtype is converted to the same
    C-contiguous array before the kernels see it: the same output, bitwise.
    Sparse input takes another kernel (another summation order): the same up
    to rounding, checked on moderate values only (huge ones cancel).
    """
    ref = predictions(est, dense)
    if not sp.issparse(X):
        np.testing.assert_array_equal(out, ref)
    elif not huge and np.abs(dense).max(initial=0.0) <= 1e4:
        rtol = 1e-3 if est._network_state.dtype == np.float32 else 1e-7
        np.testing.assert_allclose(out, ref, rtol=rtol, atol=rtol)


def check_fitted_predictions(est, X, dense, n, task, huge):
    out = predictions(est, X)
    assert out.shape[0] == n
    assert np.isfinite(out).all(), f"non-finite output for finite input: {out}"
    if isinstance(est, MLPClassifier):
        assert ((out >= 0) & (out <= 1)).all()
        labels = est.predict(X)
        if task == "multilabel":
            assert labels.shape == out.shape
        else:
            assert np.isin(labels, est.classes_).all()
    if dense is not None:
        assert_same_as_dense(est, X, out, dense, huge)
    for layer in est.hidden_activations(X):
        assert layer.shape[0] == n


def fit_property(case):
    task, X, y, params = case["task"], case["X"], case["y"], case["params"]
    cls = MLPClassifier if task in CLASSIFICATION else MLPRegressor
    est = cls(**params)
    n = y.shape[0]
    note(f"task {task}, mode {case['mode']}, params {params}")
    try:
        if case["mode"] == "fit":
            est.fit(X, y, sample_weight=case["sample_weight"])
        elif case["mode"] == "warm_start":
            est.set_params(warm_start=True)
            est.fit(X, y, sample_weight=case["sample_weight"])
            est.fit(X, y, sample_weight=case["sample_weight"])
        else:
            kw = {}
            if task in CLASSIFICATION:
                kw["classes"] = np.arange(y.shape[1]) if y.ndim == 2 else np.unique(y)
            est.partial_fit(X, y, sample_weight=case["sample_weight"], **kw)
            est.partial_fit(X, y, sample_weight=case["sample_weight"])
    except (ValueError, TypeError) as exc:
        assert_error_names_problem(exc, expected_fit_problems(case))
        return
    # The case fitted: it had no problem that must stop a fit
    assert not case["problems"] & {"no-samples", "nan-X", "inf-X", "nan-y", "inf-y",
                                   "complex", "string"}, "fitted despite bad input"
    assert np.isfinite(est._network_state.params_copy()).all()
    check_fitted_predictions(est, X, case["dense"], n, task, case["huge"])


@pytest.mark.parametrize("profile", BUDGETS)
def test_fuzz_fit(profile):
    run_property(fit_property, fit_cases(), profile)


# --------------------------------------------------------------------------
# Prediction inputs for fitted models of every kind
# --------------------------------------------------------------------------


def _fitted_models():
    rng = np.random.RandomState(0)
    X = rng.randn(60, 4)
    y3 = rng.randint(0, 3, 60)
    yb = (X[:, 0] > 0).astype(int)
    Y2 = X[:, :2] @ rng.randn(2, 2)
    kw = dict(max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "dense-float64-softmax": MLPClassifier((6,), **kw).fit(X, y3),
            "float32-multi-output": MLPRegressor(hidden_layer_sizes=(5, 3), **kw).fit(
                X.astype(np.float32), Y2),
            "sparse-batchnorm-prelu": MLPClassifier(
                (5,), activation="prelu", batch_norm=True, **kw).fit(sp.csr_matrix(X), yb),
            "no-hidden-lbfgs": MLPRegressor(hidden_layer_sizes=(), solver="lbfgs",
                                            **kw).fit(X, Y2[:, 0]),
            "float32-extras": MLPClassifier(
                (6, 4), activation=["gelu", "elu"], dropout=0.3, batch_norm=True,
                **kw).fit(X.astype(np.float32), y3),
        }


MODELS = None


@st.composite
def predict_cases(draw):
    global MODELS
    if MODELS is None:
        MODELS = _fitted_models()
    name = draw(st.sampled_from(sorted(MODELS)))
    est = MODELS[name]
    n = draw(st.sampled_from([0, 1, 2, 1025]) | st.integers(3, 12))
    d_in = est.n_features_in_
    d = draw(st.sampled_from([d_in, d_in, d_in, d_in - 1, d_in + 1]))
    X, dense, problems, huge = draw(matrices(n, d))
    if d != d_in:
        problems.add("wrong-features")
    if (est.coefs_[0].dtype == np.float32 and dense is not None and dense.size
            and np.abs(dense[np.isfinite(dense)]).max(initial=0) > np.finfo(np.float32).max):
        # float64 values a float32 model cannot represent: a named ValueError
        problems.add("float32-range")
    return dict(name=name, est=est, X=X, dense=dense, n=n, problems=problems, huge=huge)


def predict_property(case):
    est, X = case["est"], case["X"]
    note(f"model {case['name']}")
    try:
        out = predictions(est, X)
    except (ValueError, TypeError) as exc:
        assert_error_names_problem(exc, case["problems"])
        return
    assert not case["problems"], f"predicted despite {case['problems']}"
    assert out.shape[0] == case["n"]
    assert np.isfinite(out).all(), "non-finite prediction for finite input"
    assert_same_as_dense(est, X, out, case["dense"], case["huge"])


@pytest.mark.parametrize("profile", BUDGETS)
def test_fuzz_predict(profile):
    run_property(predict_property, predict_cases(), profile)


# --------------------------------------------------------------------------
# Constructor parameters: odd values, inside and outside their ranges
# --------------------------------------------------------------------------

ODD_VALUES = {
    "hidden_layer_sizes": [(), 3, (2, 3), [True], [3.0], np.array([2, 2]), (0,), [-1],
                           [1.5], ["3"], [None], [[3]], [np.nan], [np.inf], [2**62],
                           "3"],
    "activation": ["tanh", ["relu"], ("gelu",), [], ["nope"], [None], "softmax",
                   ["relu", "relu", "relu", "relu"]],
    "dropout": [0.0, 0.5, [0.3], ["0.5"], [None], [np.nan], [1.0], [-0.1], 1.0, np.nan],
    "alpha": [0.0, 1e300, -1.0, np.nan, np.inf],
    "learning_rate_init": [5e-324, 1e300, 0.0, np.nan, np.inf],
    "negative_slope": [0.0, 1e300, -1.0, np.nan],
    "epsilon": [5e-324, 1e300, 0.0],
    "momentum": [0.0, 1.0, 1.5, np.nan],
    "beta_1": [0.0, 0.999999999, 1.0],
    "beta_2": [0.0, 0.999999999, 1.0],
    "batch_size": [1, 2**62, 0, -5, 2.5, "auto"],
    "max_fun": [1, 2**62, 0],
    "n_iter_no_change": [1, np.inf, 0],
    "validation_fraction": [0.0, 0.99, 1.0],
    "power_t": [0.0, 1e300, -1.0],
    "tol": [0.0, 1e300, -1.0],
    "weight_init": ["he_normal", "xavier", None],
    "class_weight": [None, "balanced", {0: 1.0, 1: 2.0, 2: 0.5}, {0: 0.0, 1: 0.0, 2: 0.0},
                     {0: np.inf, 1: 1.0, 2: 1.0}, {0: np.nan, 1: 1.0, 2: 1.0},
                     {0: -1.0, 1: 1.0, 2: 1.0}, {7: 1.0}, "auto"],
    "batch_norm": [True, "yes"],
}


@st.composite
def parameter_cases(draw):
    names = draw(st.lists(st.sampled_from(sorted(ODD_VALUES)), min_size=1, max_size=2,
                          unique=True))
    params = {name: draw(st.sampled_from(ODD_VALUES[name])) for name in names}
    params.setdefault("hidden_layer_sizes", (4,))
    params["solver"] = draw(st.sampled_from(["lbfgs", "sgd", "adam"]))
    params["early_stopping"] = "validation_fraction" in names
    params["learning_rate"] = "invscaling" if "power_t" in names else "adaptive"
    classifier = draw(st.booleans()) or "class_weight" in names
    return dict(params=params, odd=names, classifier=classifier)


_PARAM_DATA = None


def parameter_property(case):
    global _PARAM_DATA
    if _PARAM_DATA is None:
        rng = np.random.RandomState(0)
        X = rng.randn(40, 3)
        _PARAM_DATA = X, rng.randint(0, 3, 40), X @ rng.randn(3)
    X, y_class, y_reg = _PARAM_DATA
    params = dict(case["params"], max_iter=3, random_state=0)
    note(f"params {params}")
    cls = MLPClassifier if case["classifier"] else MLPRegressor
    y = y_class if case["classifier"] else y_reg
    problems = set(case["odd"])  # the message must name a parameter we set
    problems |= {"test_size", "validation set", "class weight", "[Ss]ample weight"}
    if params["solver"] == "lbfgs":
        problems.add("dropout-lbfgs")
    big = {k: v for k, v in params.items() if isinstance(v, float) and v >= 1e300}
    if big or params.get("class_weight") == {0: -1.0, 1: 1.0, 2: 1.0}:
        problems.add("diverges")  # huge steps, or negative weights: may blow up
    try:
        est = cls(**params).fit(X, y)
    except MemoryError:
        # A network too large to allocate is refused, not a crash
        assert "hidden_layer_sizes" in case["odd"] or "batch_size" in case["odd"]
        return
    except (ValueError, TypeError) as exc:
        assert_error_names_problem(exc, problems)
        return
    out = predictions(est, X)
    assert np.isfinite(out).all(), "fitted, but predicts non-finite values"


@pytest.mark.parametrize("profile", BUDGETS)
def test_fuzz_parameters(profile):
    run_property(parameter_property, parameter_cases(), profile)


# --------------------------------------------------------------------------
# Cases the fuzzers found, pinned as plain tests
# --------------------------------------------------------------------------


def _quiet_fit(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(*args, **kwargs)


@pytest.mark.parametrize("kind", ["regressor", "classifier"])
def test_float32_model_given_values_beyond_float32_range(kind):
    # Found by test_fuzz_predict: a float32 model casts float64 input to
    # float32; 1e300 became inf and the output NaN, with no error.
    rng = np.random.RandomState(0)
    X = rng.randn(30, 4)
    est = (MLPRegressor(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
           if kind == "regressor" else MLPClassifier((5,), max_iter=5, random_state=0))
    y = X[:, 0] if kind == "regressor" else (X[:, 0] > 0).astype(int)
    _quiet_fit(est, X.astype(np.float32), y)
    X_big = X.copy()
    X_big[1, 2] = 1e300  # finite in float64, inf in float32
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's cast overflow
        with pytest.raises(ValueError, match="Input X has values beyond the range of "
                                             "float32"):
            predictions(est, X_big)
    assert np.isfinite(predictions(est, X)).all()


def test_fit_whose_final_loss_is_not_finite_is_refused():
    # Found by test_fuzz_fit: Poisson loss, L-BFGS, exp(X @ W) overflows at the
    # initial weights; fit returned with loss_ = nan and predicted inf.
    X = np.array([[120.96239051, 1073.79295248]])
    est = MLPRegressor(loss="poisson", hidden_layer_sizes=(), solver="lbfgs", alpha=100.0,
                       max_iter=4, random_state=2, weight_init="he_normal")
    with pytest.raises(ValueError, match=r"The fit ended with a non-finite loss \(nan\)"):
        _quiet_fit(est, X, [3.0])
    assert not hasattr(est, "coefs_")


def test_fit_whose_weights_overflow_the_output_is_refused():
    # Found by test_fuzz_fit: one SGD step with learning_rate_init=1e300 leaves
    # finite weights (and a finite loss_, measured before the step) whose
    # output is inf on the training data.
    X = np.array([[1.76405235]])
    est = MLPRegressor(hidden_layer_sizes=(1,), activation="identity", solver="sgd",
                       learning_rate_init=1e300, momentum=0.0, max_iter=1,
                       shuffle=False, random_state=0)
    with pytest.raises(ValueError, match="The fitted weights give non-finite outputs"):
        _quiet_fit(est, X, [0.4])
    assert not hasattr(est, "coefs_")


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_minibatch_with_zero_total_sample_weight_takes_no_step(solver):
    # Found by test_fuzz_fit: a minibatch whose sample weights are all 0 divided
    # its gradient by 0 and the fit failed. Now the epoch skips such a batch: no
    # optimizer step (Adam's step count included), no gradient norm, and the
    # model is the one trained without those samples.
    rng = np.random.RandomState(0)
    X = rng.randn(30, 4)
    sample_weight = np.ones(30)
    sample_weight[:10] = 0.0
    params = dict(hidden_layer_sizes=(5,), solver=solver, batch_size=10, shuffle=False,
                  max_iter=3, random_state=0)
    est = _quiet_fit(MLPRegressor(**params), X, X[:, 0], sample_weight=sample_weight)
    without = _quiet_fit(MLPRegressor(**params), X[10:], X[10:, 0],
                         sample_weight=sample_weight[10:])
    assert np.isfinite(est._network_state.params_copy()).all()
    assert_allclose(est._network_state.params_copy(), without._network_state.params_copy(), rtol=1e-12, atol=1e-15)
    assert_allclose(est.gradient_norms_, without.gradient_norms_, rtol=1e-12)
    if solver == "adam":
        assert est._optimizer.t[0] == without._optimizer.t[0] == 3 * 2
    # and the zero-weight batch did not count as training data either way
    trained = _quiet_fit(MLPRegressor(**params), X, X[:, 0])
    assert not np.allclose(est._network_state.params_copy(), trained._network_state.params_copy())


@pytest.mark.parametrize("class_weight, message", [
    ({0: 0.0, 1: 0.0, 2: 0.0}, "Sample weights must contain at least one non-zero number"),
    ({0: np.inf, 1: 1.0, 2: 1.0}, r"class_weight must give finite, non-negative weights, "
                                  r"got \{0: inf, 1: 1.0, 2: 1.0\}"),
    ({0: np.nan, 1: 1.0, 2: 1.0}, r"class_weight must give finite, non-negative weights, "
                                  r"got \{0: nan, 1: 1.0, 2: 1.0\}"),
], ids=["all-zero", "inf", "nan"])
def test_class_weight_that_makes_sample_weights_invalid(class_weight, message):
    # Found by test_fuzz_parameters: class weights multiplied sample_weight after
    # sample_weight was checked, so 0/inf/NaN class weights reached the solver
    # and surfaced as "non-finite parameter weights ... large values".
    rng = np.random.RandomState(0)
    X = rng.randn(40, 3)
    est = MLPClassifier((4,), class_weight=class_weight, solver="sgd", max_iter=3,
                        random_state=0)
    with pytest.raises(ValueError, match=message):
        _quiet_fit(est, X, rng.randint(0, 3, 40))


@pytest.mark.parametrize("sizes, error, message", [
    (["3"], TypeError, r"must hold integers \(units per hidden layer\), got '3' in \['3'\]"),
    ([None], TypeError, r"must hold integers \(units per hidden layer\), got None in \[None\]"),
    ([[3]], TypeError, r"must hold integers \(units per hidden layer\), got \[3\] in \[\[3\]\]"),
    ([np.nan], TypeError, r"must hold integers \(units per hidden layer\), got nan in \[nan\]"),
    ([np.inf], TypeError, r"must hold integers \(units per hidden layer\), got inf in \[inf\]"),
    ([2**62], ValueError, r"entries must be at most 2147483647, got \[4611686018427387904\]"),
], ids=["str", "None", "nested", "nan", "inf", "2**62"])
def test_bad_hidden_layer_sizes_entries_are_named(sizes, error, message):
    # Found by test_fuzz_parameters: bad entries inside a hidden_layer_sizes
    # list raised numpy/int() errors (OverflowError for inf and 2**62) that did
    # not say which parameter is wrong, or tried to allocate the network.
    # Non-integer entries are a TypeError, as in scikit-learn.
    X = np.random.RandomState(0).randn(10, 2)
    with pytest.raises(error, match="hidden_layer_sizes " + message):
        MLPRegressor(hidden_layer_sizes=sizes, max_iter=1).fit(X, X[:, 0])


def test_invscaling_with_huge_power_t():
    # Found by test_fuzz_parameters: power_t=1e300 is valid ([0, inf)) but the
    # 'invscaling' schedule computes (t + 1) ** power_t as a Python float and
    # raised OverflowError after the first epoch (scikit-learn 1.9.1 still
    # does). Now the rate is learning_rate_init / inf = 0 after the first epoch.
    X = np.random.RandomState(0).randn(40, 3)
    params = dict(hidden_layer_sizes=(4,), solver="sgd", learning_rate="invscaling",
                  power_t=1e300, max_iter=3, random_state=0)
    est = _quiet_fit(MLPRegressor(**params), X, X[:, 0])
    assert est.n_iter_ == 3
    assert est._optimizer.learning_rate == 0.0
    assert np.isfinite(est.predict(X)).all()
    # the first epoch trained at learning_rate_init
    one = _quiet_fit(MLPRegressor(**dict(params, max_iter=1)), X, X[:, 0])
    assert one._optimizer.learning_rate == 0.0
    assert est.loss_curve_[0] == one.loss_curve_[0]


def test_float32_adam_with_epsilon_below_float32_range():
    # Found by test_fuzz_fit: epsilon=1e-300 is valid, but the float32 Adam
    # step cast it to float32 (0.0); a parameter whose gradient and moments
    # are exactly 0 (a constant-zero feature, a dropped unit, alpha=0) then
    # stepped by 0 / (sqrt(0) + 0) = NaN. Now it does not move, as in float64.
    rng = np.random.RandomState(0)
    X = rng.randn(30, 3)
    X[:, 1] = 0.0
    params = dict(hidden_layer_sizes=(3,), solver="adam", alpha=0.0, epsilon=1e-300,
                  max_iter=3, random_state=0)
    est = _quiet_fit(MLPRegressor(**params), X.astype(np.float32), X[:, 0])
    ref = _quiet_fit(MLPRegressor(**params), X, X[:, 0])
    assert est._network_state.dtype == np.float32
    assert np.isfinite(est._network_state.params_copy()).all()
    # the zero feature's weights keep their initial values, in both dtypes
    initial = _quiet_fit(MLPRegressor(**dict(params, learning_rate_init=1e-300)), X, X[:, 0])
    assert_array_equal(ref.coefs_[0][1], initial.coefs_[0][1])
    assert_array_equal(est.coefs_[0][1], initial.coefs_[0][1].astype(np.float32))
    assert_allclose(est.predict(X), ref.predict(X), rtol=1e-4, atol=1e-5)
