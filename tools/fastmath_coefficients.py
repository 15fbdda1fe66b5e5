"""Regenerate the polynomial coefficients of erf_with_gaussian and exp_negative
in src/cymlp/_fastmath.pxd: Chebyshev fits at 60 digits (``pip install mpmath``;
run by hand, not by the build). Prints each polynomial highest degree first,
with the fit's maximum error.
"""

import mpmath as mp

mp.mp.dps = 60
K, C = mp.mpf("0.3"), mp.mpf(9) / 16     # t = 1 / (1 + K |x|), Q in t - C


def erf_over_x(s):
    """erf(x) / x as a function of s = x^2: P, for |x| < 1."""
    x = mp.sqrt(s)
    return 2 / mp.sqrt(mp.pi) if s == 0 else mp.erf(x) / x


def erfc_scaled(u):
    """erfc(x) exp(x^2) / t as a function of u = t - C: Q, for 1 <= |x| <= 6."""
    t = u + C
    x = (1 / t - 1) / K
    return mp.erfc(x) * mp.exp(x * x) / t


half_ln2 = mp.log(2) / 2
fits = [
    ("P (erf, |x| < 1)", erf_over_x, [0, 1], 12),
    ("Q (erf, 1 <= |x| <= 6)", erfc_scaled, [1 / (1 + 6 * K) - C, 1 / (1 + K) - C], 16),
    ("exp_negative, exp(r)", mp.exp, [-half_ln2, half_ln2], 12),
]
for name, f, interval, n in fits:
    coefs, err = mp.chebyfit(f, interval, n, error=True)
    print(f"{name}: degree {n - 1}, max error {mp.nstr(err, 2)}")
    print("   ", ", ".join(repr(float(c)) for c in coefs))
