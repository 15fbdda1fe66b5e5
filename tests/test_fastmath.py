"""The elementwise kernels' accuracy, at every SIMD level this machine runs.

Training runs the copies of the kernels compiled into ``_network``,
``_network_avx2`` and ``_network_avx512``; ``_kernel_entries`` is built beside
each of them with the same flags, and every test here takes the ``kernels``
fixture, one level's entry points. They check the branch-free exp, log, tanh,
exp(-x^2 / 2) and normal CDF of ``_fastmath.pxd`` against numpy/scipy or an
exact reference, directly (``fastmath``) and through the activations and
output layers that use them; every activation with a non-zero bias against
scikit-learn's own, in float32 and float64; NaN, +-inf, |x| > 40,
subnormals and the polynomials' edges. The last test shows that the levels
agree bit for bit on those extreme inputs too.
"""

import decimal
import functools
import math

import numpy as np
import pytest
from scipy.special import expit, ndtr
from scipy.stats import norm
from sklearn.neural_network._base import ACTIVATIONS, DERIVATIVES

from cymlp import _dispatch

LEVELS = _dispatch.available_levels()
WIDER = [level for level in LEVELS if level != "baseline"]
ALL_ACTIVATIONS = ["identity", "logistic", "tanh", "relu", "leaky_relu", "prelu", "elu",
                   "gelu"]
NEEDS_INPUT = {"prelu", "gelu"}
HEADS = ["squared_error", "binary_log_loss", "log_loss", "poisson"]


@pytest.fixture(params=LEVELS)
def kernels(request):
    """One SIMD level's kernels (its ``_kernel_entries`` module)."""
    return _dispatch.load_entries(request.param)


def _ulps(ours, reference):
    """Largest error in units of the reference's last place, over the
    references that are non-zero normal numbers."""
    reference = np.asarray(reference, dtype=np.float64)
    ok = np.isfinite(reference) & (np.abs(reference) >= np.finfo(np.float64).tiny)
    return np.max(np.abs(ours[ok] - reference[ok]) / np.spacing(np.abs(reference[ok])))


def _subnormal_error(ours, reference):
    """Largest absolute error where the reference is 0 or subnormal."""
    reference = np.asarray(reference, dtype=np.float64)
    low = np.abs(reference) < np.finfo(np.float64).tiny
    return np.max(np.abs(ours[low] - reference[low]), initial=0.0)


def _grid():
    rng = np.random.RandomState(0)
    small = np.logspace(-300, 0, 20_000)
    subnormal = np.logspace(-323.3, -307.7, 2_000)
    return np.concatenate([rng.uniform(-40, 40, 50_000), rng.uniform(-800, 800, 10_000),
                           small, -small, subnormal, -subnormal,
                           np.linspace(-0.2, 0.2, 20_001),
                           # exp's clips, the ELU series' switch, tanh's clip
                           [709.78, -709.78, 745.0, -745.0, 746.0, -746.0, 710.0, -710.0,
                            -0.0625, np.nextafter(-0.0625, 0), 20.0, -20.0, 1e300, -1e300]])


@pytest.mark.parametrize("name, reference, max_ulps", [
    ("tanh", np.tanh, 4),
    ("logistic", expit, 6),
    ("elu", lambda v: np.where(v > 0, v, np.expm1(np.minimum(v, 0))), 16),
])
def test_activation_values_within_a_few_ulps(kernels, name, reference, max_ulps):
    x = _grid()
    z = x.reshape(1, -1).copy()
    kernels.activate(name, z, np.zeros(z.shape[1]))
    assert _ulps(z[0], reference(x)) <= max_ulps
    # where the exact value is subnormal (logistic below x = -708), 0 or
    # within one smallest normal
    assert _subnormal_error(z[0], reference(x)) <= np.finfo(np.float64).tiny


def test_float32_tanh_within_a_few_float32_ulps(kernels):
    # float32 layers compute tanh in float32 arithmetic (tanh_float), at
    # twice the lanes of double: checked against the exact tanh, in float32 ulps
    rng = np.random.RandomState(0)
    small = np.logspace(-44, 0, 20_000)
    x = np.concatenate([rng.uniform(-20, 20, 200_000), small, -small,
                        np.linspace(-1, 1, 200_001), np.linspace(8, 10, 20_001),
                        rng.uniform(-1e30, 1e30, 1000)])
    x = x.astype(np.float32)
    z = x.reshape(1, -1).copy()
    kernels.activate("tanh", z, np.zeros(z.shape[1], dtype=np.float32))
    exact = np.tanh(x.astype(np.float64))
    ok = exact != 0
    float32_ulp = np.spacing(np.abs(exact[ok]).astype(np.float32)).astype(np.float64)
    assert np.max(np.abs(z[0][ok] - exact[ok]) / float32_ulp) <= 3
    assert np.abs(z).max() <= 1


# f(x) and f'(x) at NaN, +-inf and +-0, for every activation (leaky_relu's
# slope 0.01, prelu's 0.25); relu keeps NaN as NaN (np.maximum does too).
SPECIAL_X = [np.nan, np.inf, -np.inf, 0.0, -0.0]
SPECIAL_VALUES = {
    "identity": [np.nan, np.inf, -np.inf, 0, 0],
    "logistic": [np.nan, 1, 0, 0.5, 0.5],
    "tanh": [np.nan, 1, -1, 0, 0],
    "relu": [np.nan, np.inf, 0, 0, 0],
    "leaky_relu": [np.nan, np.inf, -np.inf, 0, 0],
    "prelu": [np.nan, np.inf, -np.inf, 0, 0],
    "elu": [np.nan, np.inf, -1, 0, 0],
    "gelu": [np.nan, np.inf, 0, 0, 0],
}
# f'(+-inf), and f'(+-0) where f' is defined there (not at relu's kinks)
SPECIAL_DERIVATIVES = {
    "identity": [1, 1, 1, 1],
    "logistic": [0, 0, 0.25, 0.25],
    "tanh": [0, 0, 1, 1],
    "relu": [1, 0, None, None],
    "leaky_relu": [1, 0.01, None, None],
    "prelu": [1, 0.25, None, None],
    "elu": [1, 0, None, None],
    "gelu": [1, 0, 0.5, 0.5],
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ALL_ACTIVATIONS)
def test_special_values(kernels, name, dtype):
    x = np.array([SPECIAL_X], dtype=dtype)
    slopes = np.full(x.shape[1], 0.25, dtype=dtype)
    a = x.copy()
    kernels.activate(name, a, np.zeros(x.shape[1], dtype=dtype), slopes=slopes)
    np.testing.assert_array_equal(a[0], np.array(SPECIAL_VALUES[name], dtype=dtype))
    delta = np.ones_like(x)
    kernels.derivative(name, a, delta, z=x if name in NEEDS_INPUT else None,
                       slopes=slopes)
    for got, want in zip(delta[0, 1:], SPECIAL_DERIVATIVES[name]):
        if want is not None:
            assert got == np.array(want, dtype=dtype)
    if name not in ("relu", "leaky_relu", "prelu", "identity"):
        assert np.isnan(delta[0, 0])      # f'(NaN), where f' is a formula in f


def test_softmax_and_exp_outputs_match_numpy(kernels):
    rng = np.random.RandomState(1)
    z = rng.uniform(-30, 30, (200, 7))
    out = z.copy()
    kernels.output_forward("log_loss", out, np.zeros(7))
    e = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(out, e / e.sum(axis=1, keepdims=True), rtol=4e-16 * 8)
    out = z.copy()
    kernels.output_forward("poisson", out, np.zeros(7))
    assert _ulps(out.ravel(), np.exp(z).ravel()) <= 2


def test_log_in_the_log_losses_within_a_few_ulps(kernels):
    rng = np.random.RandomState(2)
    eps = np.finfo(np.float64).eps
    p = np.concatenate([10 ** rng.uniform(np.log10(eps), 0, 4000),
                        1 - 10 ** rng.uniform(np.log10(eps), -1, 1000)])
    p = np.clip(p, eps, 1 - eps)
    # one row per value, so the total is a sum of exactly known terms
    total, _ = kernels.loss_delta("log_loss", p.reshape(-1, 1), np.ones((p.size, 1)))
    reference = -np.log(p)
    np.testing.assert_allclose(total, reference.sum(), rtol=1e-14)
    worst = max(abs(kernels.loss_delta("log_loss", np.array([[v]]), np.ones((1, 1)))[0]
                    + np.log(v)) / np.spacing(abs(np.log(v))) for v in p[::25])
    assert worst <= 2


def _fastmath(kernels, name, x):
    out = np.array(x, dtype=np.float64)
    kernels.fastmath(name, out)
    return out


def test_exp_within_1_2_ulp_of_the_exact_value(kernels):
    # exp's range-reduction edges (k + 1/2) ln 2, its clips, the subnormal
    # results below -708 and overflow above 709.78
    rng = np.random.RandomState(3)
    k = np.arange(-1075, 1025)
    edges = (k + 0.5) * np.log(2)
    x = np.concatenate([rng.uniform(-746, 710, 100_000), edges, np.nextafter(edges, -1e9),
                        np.nextafter(edges, 1e9), np.linspace(-1e-3, 1e-3, 2001)])
    ours = _fastmath(kernels, "exp", x)
    with np.errstate(over="ignore"):
        ref = np.exp(x)
    ok = np.isfinite(ref) & (ref >= np.finfo(np.float64).tiny)
    if np.finfo(np.longdouble).nmant > 52:
        # against the exact value (a long double exp: 64 or 113 bits): within
        # 1.2 ulp. numpy's float64 exp is no reference at this strength: it
        # is itself up to 1.5 ulp off in NumPy 1.25 (0.7 in NumPy 2.4).
        with np.errstate(over="ignore"):
            exact = np.exp(x[ok].astype(np.longdouble))
        assert np.max(np.abs(ours[ok] - exact) / np.spacing(ref[ok])) <= 1.2
    else:  # a platform whose long double is a double
        assert _ulps(ours, ref) <= 2
    subnormal = (ref < np.finfo(np.float64).tiny)
    # from 2^-1022 down, the results are subnormal: within one of their ulps
    assert np.max(np.abs(ours[subnormal] - ref[subnormal])) <= 5e-324
    out = _fastmath(kernels, "exp", [np.nan, np.inf, -np.inf, 710.0, 1e300, -746.0, -1e300])
    np.testing.assert_array_equal(out, [np.nan, np.inf, 0, np.inf, np.inf, 0, 0])


def test_tanh_within_a_few_ulps_directly(kernels):
    x = _grid()
    assert _ulps(_fastmath(kernels, "tanh", x), np.tanh(x)) <= 4
    out = _fastmath(kernels, "tanh", [np.nan, np.inf, -np.inf, 0.0, -0.0, 5e-324, -5e-324])
    np.testing.assert_array_equal(out, [np.nan, 1, -1, 0, 0, 5e-324, -5e-324])
    assert np.signbit(out[4]) and not np.signbit(out[3])


def _cdf_grid():
    rng = np.random.RandomState(4)
    tiny = np.logspace(-323.3, 0, 20_000)      # subnormals up to 1
    # where 1 - Phi rounds to 0 (x = 8.5) and the cut to 0 below x = -37.5
    edges = np.concatenate([np.linspace(b - 1e-3, b + 1e-3, 2001) for b in (8.5, 37.5)])
    x = np.concatenate([rng.uniform(-40, 40, 200_000), np.linspace(-9, 9, 180_001),
                        tiny, edges, np.nextafter([8.5, 37.5], 0), [5e-324, 1e300]])
    return np.concatenate([x, -x])


def test_normal_cdf_against_scipy(kernels):
    # Phi is accurate in absolute terms (what x Phi(x) needs): a few ulp of
    # 1/2 everywhere, a few ulp of Phi itself for x >= 0, and below 1e-17 in
    # the left tail, whose relative error is not bounded (_fastmath.pxd)
    x = _cdf_grid()
    ours, ref = _fastmath(kernels, "normal_cdf", x), ndtr(x)
    err = np.abs(ours - ref)
    assert err.max() <= 2 * np.spacing(0.5)
    right = x >= 0
    assert np.max(err[right] / np.spacing(ref[right])) <= 2
    assert err[x < -3.1].max() <= 1e-17
    assert np.all(ours[x <= -37.5] == 0) and np.all(ours[x > 8.5] == 1)


def test_normal_cdf_special_values_pass_through(kernels):
    out = _fastmath(kernels, "normal_cdf", [np.nan, np.inf, -np.inf, 0.0, -0.0, -5e-324,
                                            5e-324])
    np.testing.assert_array_equal(out[:3], [np.nan, 1, 0])
    np.testing.assert_allclose(out[3:], 0.5, rtol=2 * np.finfo(float).eps)


def _exact_gaussian(x):
    """exp(-x^2 / 2) correctly rounded: x^2 is exact in 40 decimal digits."""
    context = decimal.Context(prec=40)
    half = decimal.Decimal(-0.5)
    return np.array([float(context.exp(context.multiply(
        half, context.multiply(decimal.Decimal(v), decimal.Decimal(v))))) for v in x])


@functools.cache
def _gaussian_grid():
    """Points and their exact exp(-x^2 / 2), computed once for every level:
    the range reduction's edges, x^2 / (2 ln 2) = j + 1/2, on both sides, up
    to the last before x^2 = 1416."""
    rng = np.random.RandomState(5)
    edges = np.sqrt((2 * np.arange(1021) + 1) * np.log(2))
    x = np.concatenate([rng.uniform(-37.6, 37.6, 4000), rng.uniform(-1.2, 1.2, 2000),
                        rng.uniform(1.2, 3.0, 1000), edges, np.nextafter(edges, 0),
                        np.nextafter(edges, 40), [0.0, 1.2, -1.2, 5e-324, 1e-200]])
    return x, _exact_gaussian(x)


def test_gaussian_against_an_exact_reference(kernels):
    # the bounds _fastmath.pxd states: 2 ulp for |x| <= 1.2, 2 (|k| + 1) ulp
    # beyond (k = round(x^2 / (2 ln 2))), 1.2e-16 absolute beyond 1.2
    x, exact = _gaussian_grid()
    ours = _fastmath(kernels, "gaussian", x)
    ulps = np.abs(ours - exact) / np.spacing(exact)
    k = np.round(x * x / (2 * np.log(2)))
    inner = np.abs(x) <= 1.2
    assert ulps[inner].max() <= 2
    assert np.all(ulps <= 2 * (k + 1))
    assert np.abs(ours - exact)[~inner].max() <= 1.2e-16
    np.testing.assert_array_equal(ours, _fastmath(kernels, "gaussian", -x))   # even
    assert np.all(ours <= 1) and ours[x == 0][0] == 1 and ours[x == 5e-324][0] == 1


def test_gaussian_is_zero_beyond_its_range_and_at_infinity(kernels):
    # 0 from x^2 / 2 = 708 on (the value is below 3.4e-308 there), at +-inf;
    # NaN stays NaN. Before, it clipped x^2 and never reached 0, so GELU's
    # derivative x phi(x) was inf * 3e-308 at x = inf.
    edge = math.sqrt(1416.0)
    x = np.array([np.nextafter(edge, 50), 37.7, 40.0, 1e10, 1e300, np.inf])
    np.testing.assert_array_equal(_fastmath(kernels, "gaussian", x), 0)
    np.testing.assert_array_equal(_fastmath(kernels, "gaussian", -x), 0)
    just_inside = _fastmath(kernels, "gaussian", [np.nextafter(edge, 0)])[0]
    assert 0 < just_inside <= 3.4e-308
    assert np.isnan(_fastmath(kernels, "gaussian", [np.nan])[0])


def test_gelu_and_its_derivative_match_scipy(kernels):
    # Both use Phi, whose error is absolute (test_normal_cdf_against_scipy):
    # hence the atol-like terms. The grid reaches |x| = 800 and subnormals.
    x = np.ascontiguousarray(_grid()[::4])
    ref = x * norm.cdf(x)
    z = x.reshape(1, -1).copy()
    kernels.activate("gelu", z, np.zeros(z.shape[1]))
    assert np.all(np.abs(z[0] - ref) <= 4e-16 * np.abs(ref) + 1.2e-16 * np.abs(x))
    grad = np.ones_like(z)
    kernels.derivative("gelu", z, grad, z=x.reshape(1, -1))
    ref = norm.cdf(x) + x * norm.pdf(x)
    assert np.all(np.abs(grad[0] - ref) <= 4e-16 * np.abs(ref) + 2e-16)
    x32 = x.astype(np.float32)
    z32 = x32.reshape(1, -1).copy()
    kernels.activate("gelu", z32, np.zeros(z32.shape[1], dtype=np.float32))
    ref = x32.astype(np.float64) * norm.cdf(x32.astype(np.float64))
    assert np.all(np.abs(z32[0] - ref) <= 6e-8 * np.abs(ref) + 1.2e-16 * np.abs(x32) + 1e-45)


def test_log_positive_across_every_exponent(kernels):
    # m 2^e for every normal exponent e (negative ones included), m on both
    # sides of the sqrt(1/2) and sqrt(2) edges where e steps
    e = np.ldexp(1.0, np.arange(-1022, 1024))
    r = np.sqrt(0.5)
    m = np.array([1.0, 1.5, np.nextafter(2, 0), r, np.nextafter(r, 0), np.nextafter(r, 1),
                  2 * r, np.nextafter(2 * r, 0), np.nextafter(2 * r, 4)])
    x = (m[:, None] * e).ravel()
    x = x[np.isfinite(x) & (x >= np.finfo(np.float64).tiny)]
    rng = np.random.RandomState(5)
    x = np.concatenate([x, 10 ** rng.uniform(-307, 308, 50_000), rng.uniform(0.7, 1.4, 20_000)])
    # reference: libm's log (glibc's is correctly rounded in practice); numpy's
    # own SIMD log differs by its version (1.25's is 1 ulp off in places)
    assert _ulps(_fastmath(kernels, "log", x), np.array([math.log(v) for v in x])) <= 2
    assert _fastmath(kernels, "log", [1.0])[0] == 0.0
    # a NaN (a diverged fit's probability) stays NaN, whatever its bits
    nans = np.array([np.nan, -np.nan, np.frombuffer(np.uint64(0x7FFFFFFFFFFFFFFF).tobytes())[0]])
    assert np.isnan(_fastmath(kernels, "log", nans)).all()


def test_fastmath_names(kernels):
    with pytest.raises(ValueError, match="unknown function"):
        kernels.fastmath("erfc", np.zeros(1))


# --------------------------------------------------------------------------
# scikit-learn's activations and derivatives, with a bias, float32 and float64
# --------------------------------------------------------------------------

# Largest error against scikit-learn, in units of the dtype's eps relative to
# the value: logistic and tanh are ours (within a few ulp, above) against
# scipy's expit and numpy's tanh; identity and relu are exact; so are the
# derivatives, written from the output in scikit-learn's order (within 1 ulp).
# Below the smallest normal the difference is absolute: scipy's float32 expit
# gives 0 from about x = -88 on, where ours (computed in double) keeps the
# subnormal value.
REFERENCE_EPS = {"identity": 0, "relu": 0, "logistic": 4, "tanh": 4}


@pytest.mark.parametrize("n_cols", [5, 130])       # one flat pass; row by row from 128
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(REFERENCE_EPS))
def test_activations_with_bias_match_sklearn(kernels, name, dtype, n_cols):
    rng = np.random.RandomState(6)
    z = rng.uniform(-6, 6, (9, n_cols))
    z[0, :4] = [30.0, -30.0, 90.0, -90.0]                  # saturated tails
    z = z.astype(dtype)
    bias = rng.uniform(-1.5, 1.5, n_cols).astype(dtype)
    bias[bias == 0] = 0.5
    expected = z + bias                                    # the add in dtype, as ours
    ACTIVATIONS[name](expected)
    got = z.copy()
    kernels.activate(name, got, bias)
    assert got.dtype == dtype
    eps = np.finfo(dtype).eps
    if REFERENCE_EPS[name] == 0:
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, rtol=REFERENCE_EPS[name] * eps,
                                   atol=np.finfo(dtype).tiny)
    # the derivative, from our output, against scikit-learn's from the same
    delta = rng.normal(size=z.shape).astype(dtype)
    want = delta.copy()
    DERIVATIVES[name](got, want)
    kernels.derivative(name, got, delta)
    np.testing.assert_allclose(delta, want, rtol=eps, atol=0)


# --------------------------------------------------------------------------
# Every level agrees with the baseline, bit for bit, on the extreme inputs
# --------------------------------------------------------------------------


def _extreme_inputs(dtype):
    """NaN, +-inf, +-0, subnormals, the largest values, |x| > 40, every
    clip and polynomial edge above, and a log-spaced sweep of magnitudes."""
    info = np.finfo(dtype)
    rng = np.random.RandomState(7)
    specials = [np.nan, np.inf, -np.inf, 0.0, -0.0, info.max, info.tiny,
                info.smallest_subnormal, 40.5, 745.0, 746.0, 710.0, 709.78, 37.5, 8.5,
                math.sqrt(1416.0), 20.0, 9.0, 0.0625, 1.2]
    exp_edges = (np.arange(-1075, 1025, 7) + 0.5) * np.log(2)
    cdf_edges = np.sqrt((2 * np.arange(0, 1022, 5) + 1) * np.log(2))
    magnitudes = np.logspace(np.log10(float(info.smallest_subnormal)),
                             np.log10(float(info.max)), 3000)
    x = np.concatenate([specials, exp_edges, cdf_edges, magnitudes,
                        rng.uniform(-800, 800, 3000)]).astype(np.float64)
    with np.errstate(over="ignore"):
        x = np.concatenate([x, np.nextafter(x, np.inf), np.nextafter(x, -np.inf)])
        x = np.concatenate([x, -x]).astype(dtype)
    return x[: x.size // 520 * 520]      # whole rows of 8 and of 130 columns


def _bits(*arrays):
    """The arrays' bytes, every NaN as the one quiet NaN: a NaN's sign and
    payload are not values (one compiler's AVX2 code gives -NaN where the
    baseline gives +NaN for a -NaN input), every other bit is compared."""
    out = b""
    for a in arrays:
        a = np.array(a)
        a[np.isnan(a)] = np.nan
        out += a.tobytes()
    return out


def _outputs_on_extremes(kernels):
    """Every entry point's output bits on the extreme inputs, by name (NaN as NaN)."""
    out = {}
    with np.errstate(all="ignore"):
        x = _extreme_inputs(np.float64)
        for name in ("exp", "tanh", "gaussian", "normal_cdf"):
            out[name] = _bits(_fastmath(kernels, name, x))
        positive = x[x > 0]
        out["log"] = _bits(_fastmath(kernels, "log", positive))
        rng = np.random.RandomState(8)
        for dtype in (np.float32, np.float64):
            x = _extreme_inputs(dtype)
            for n_cols in (8, 130):
                z = x.reshape(-1, n_cols)
                bias = np.zeros(n_cols, dtype=dtype)
                slopes = rng.uniform(0.05, 0.5, n_cols).astype(dtype)
                for name in ALL_ACTIVATIONS:
                    a = z.copy()
                    kernels.activate(name, a, bias, slopes=slopes)
                    delta = rng.normal(size=z.shape).astype(dtype)
                    kernels.derivative(name, a, delta, slopes=slopes,
                                       z=z if name in NEEDS_INPUT else None)
                    key = f"{name} {dtype.__name__} {n_cols}"
                    out[key] = _bits(a, delta)
            for head, k in [("squared_error", 2), ("binary_log_loss", 1),
                            ("binary_log_loss", 4), ("log_loss", 4), ("poisson", 2)]:
                z = x.reshape(-1, k)
                p = z.copy()
                kernels.output_forward(head, p, np.zeros(k, dtype=dtype))
                y = (rng.uniform(size=z.shape) < 0.5).astype(dtype)
                w = rng.uniform(0.5, 2, z.shape[0])
                total, delta = kernels.loss_delta(head, p, y, sample_weight=w)
                # and the loss on the raw extremes, where p is no probability
                raw_total, raw_delta = kernels.loss_delta(head, z, y)
                out[f"{head} {dtype.__name__} {k}"] = _bits(
                    p, delta, raw_delta, np.float64([total, raw_total]))
    return out


@pytest.mark.skipif(not WIDER, reason="this CPU or build has only the baseline level")
@pytest.mark.parametrize("level", WIDER)
def test_levels_agree_bit_for_bit_on_extreme_inputs(level):
    baseline = _outputs_on_extremes(_dispatch.load_entries("baseline"))
    got = _outputs_on_extremes(_dispatch.load_entries(level))
    assert got.keys() == baseline.keys()
    differ = [key for key in baseline if got[key] != baseline[key]]
    assert not differ, f"{level} differs from baseline on: {differ}"
