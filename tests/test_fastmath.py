"""The kernels' branch-free exp, log, tanh and normal CDF (``_fastmath.pxd``) against
numpy/scipy, directly (``fastmath``) and through the activations and output
layers that use them."""

import math

import numpy as np
import pytest
from scipy.special import expit, ndtr
from scipy.stats import norm

from cymlp._activations import activate, derivative, fastmath
from cymlp._losses import loss_delta, output_forward


def _ulps(ours, reference):
    reference = np.asarray(reference, dtype=np.float64)
    ok = np.isfinite(reference) & (reference != 0)
    return np.max(np.abs(ours[ok] - reference[ok]) / np.spacing(np.abs(reference[ok])))


def _grid():
    rng = np.random.RandomState(0)
    small = np.logspace(-300, 0, 20_000)
    return np.concatenate([rng.uniform(-40, 40, 50_000), small, -small,
                           np.linspace(-0.2, 0.2, 20_001)])


@pytest.mark.parametrize("name, reference, max_ulps", [
    ("tanh", np.tanh, 4),
    ("logistic", expit, 6),
    ("elu", lambda v: np.where(v > 0, v, np.expm1(v)), 16),
])
def test_activation_values_within_a_few_ulps(name, reference, max_ulps):
    x = _grid()
    z = x.reshape(1, -1).copy()
    activate(name, z, np.zeros(z.shape[1]))
    assert _ulps(z[0], reference(x)) <= max_ulps


def test_float32_tanh_within_a_few_float32_ulps():
    # float32 layers compute tanh in float32 arithmetic (tanh_float), at
    # twice the lanes of double: checked against the exact tanh, in float32 ulps
    rng = np.random.RandomState(0)
    small = np.logspace(-44, 0, 20_000)
    x = np.concatenate([rng.uniform(-20, 20, 200_000), small, -small,
                        np.linspace(-1, 1, 200_001), np.linspace(8, 10, 20_001)])
    x = x.astype(np.float32)
    z = x.reshape(1, -1).copy()
    activate("tanh", z, np.zeros(z.shape[1], dtype=np.float32))
    exact = np.tanh(x.astype(np.float64))
    ok = exact != 0
    float32_ulp = np.spacing(np.abs(exact[ok]).astype(np.float32)).astype(np.float64)
    assert np.max(np.abs(z[0][ok] - exact[ok]) / float32_ulp) <= 3
    assert np.abs(z).max() <= 1
    special = np.array([[np.nan, np.inf, -np.inf, 0.0, 100.0, -100.0]], dtype=np.float32)
    activate("tanh", special, np.zeros(6, dtype=np.float32))
    np.testing.assert_array_equal(special[0], [np.nan, 1, -1, 0, 1, -1])


def test_special_values_pass_through():
    z = np.array([[np.nan, np.inf, -np.inf, 0.0, 800.0, -800.0]])
    for name, expected in [("tanh", [np.nan, 1, -1, 0, 1, -1]),
                           ("logistic", [np.nan, 1, 0, 0.5, 1, 0])]:
        out = z.copy()
        activate(name, out, np.zeros(6))
        np.testing.assert_array_equal(out[0], expected)


def test_softmax_and_exp_outputs_match_numpy():
    rng = np.random.RandomState(1)
    z = rng.uniform(-30, 30, (200, 7))
    out = z.copy()
    output_forward("log_loss", out, np.zeros(7))
    e = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(out, e / e.sum(axis=1, keepdims=True), rtol=4e-16 * 8)
    out = z.copy()
    output_forward("poisson", out, np.zeros(7))
    assert _ulps(out.ravel(), np.exp(z).ravel()) <= 2


def test_log_in_the_log_losses_within_a_few_ulps():
    rng = np.random.RandomState(2)
    eps = np.finfo(np.float64).eps
    p = np.concatenate([10 ** rng.uniform(np.log10(eps), 0, 4000),
                        1 - 10 ** rng.uniform(np.log10(eps), -1, 1000)])
    p = np.clip(p, eps, 1 - eps)
    # one row per value, so the total is a sum of exactly known terms
    total, _ = loss_delta("log_loss", p.reshape(-1, 1), np.ones((p.size, 1)))
    reference = -np.log(p)
    np.testing.assert_allclose(total, reference.sum(), rtol=1e-14)
    worst = max(abs(loss_delta("log_loss", np.array([[v]]), np.ones((1, 1)))[0] + np.log(v))
                / np.spacing(abs(np.log(v))) for v in p[::25])
    assert worst <= 2


def _fastmath(name, x):
    out = np.array(x, dtype=np.float64)
    fastmath(name, out)
    return out


def _cdf_grid():
    rng = np.random.RandomState(4)
    tiny = np.logspace(-323.3, 0, 20_000)      # subnormals up to 1
    # where 1 - Phi rounds to 0 (x = 8.5) and the cut to 0 below x = -37.5
    edges = np.concatenate([np.linspace(b - 1e-3, b + 1e-3, 2001) for b in (8.5, 37.5)])
    x = np.concatenate([rng.uniform(-40, 40, 200_000), np.linspace(-9, 9, 180_001),
                        tiny, edges, np.nextafter([8.5, 37.5], 0), [5e-324, 1e300]])
    return np.concatenate([x, -x])


def test_normal_cdf_against_scipy():
    # Phi is accurate in absolute terms (what x Phi(x) needs): a few ulp of
    # 1/2 everywhere, a few ulp of Phi itself for x >= 0, and below 1e-17 in
    # the left tail, whose relative error is not bounded (_fastmath.pxd)
    x = _cdf_grid()
    ours, ref = _fastmath("normal_cdf", x), ndtr(x)
    err = np.abs(ours - ref)
    assert err.max() <= 2 * np.spacing(0.5)
    right = x >= 0
    assert np.max(err[right] / np.spacing(ref[right])) <= 2
    assert err[x < -3.1].max() <= 1e-17
    assert np.all(ours[x <= -37.5] == 0) and np.all(ours[x > 8.5] == 1)


def test_normal_cdf_special_values_pass_through():
    out = _fastmath("normal_cdf", [np.nan, np.inf, -np.inf, 0.0, -0.0, -5e-324, 5e-324])
    np.testing.assert_array_equal(out[:3], [np.nan, 1, 0])
    np.testing.assert_allclose(out[3:], 0.5, rtol=2 * np.finfo(float).eps)


def test_gelu_and_its_derivative_match_scipy():
    # Both use Phi, whose error is absolute (test_normal_cdf_against_scipy):
    # hence the atol-like terms.
    x = np.ascontiguousarray(_grid()[::4])
    ref = x * norm.cdf(x)
    z = x.reshape(1, -1).copy()
    activate("gelu", z, np.zeros(z.shape[1]))
    assert np.all(np.abs(z[0] - ref) <= 4e-16 * np.abs(ref) + 1.2e-16 * np.abs(x))
    grad = np.ones_like(z)
    derivative("gelu", z, grad, z=x.reshape(1, -1))
    ref = norm.cdf(x) + x * norm.pdf(x)
    assert np.all(np.abs(grad[0] - ref) <= 4e-16 * np.abs(ref) + 2e-16)
    x32 = x.astype(np.float32)
    z32 = x32.reshape(1, -1).copy()
    activate("gelu", z32, np.zeros(z32.shape[1], dtype=np.float32))
    ref = x32.astype(np.float64) * norm.cdf(x32.astype(np.float64))
    assert np.all(np.abs(z32[0] - ref) <= 6e-8 * np.abs(ref) + 1.2e-16 * np.abs(x32) + 1e-45)


def test_log_positive_across_every_exponent():
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
    assert _ulps(_fastmath("log", x), np.array([math.log(v) for v in x])) <= 2
    assert _fastmath("log", [1.0])[0] == 0.0
    # a NaN (a diverged fit's probability) stays NaN, whatever its bits
    nans = np.array([np.nan, -np.nan, np.frombuffer(np.uint64(0x7FFFFFFFFFFFFFFF).tobytes())[0]])
    assert np.isnan(_fastmath("log", nans)).all()


def test_fastmath_names():
    with pytest.raises(ValueError, match="unknown function"):
        fastmath("erfc", np.zeros(1))
