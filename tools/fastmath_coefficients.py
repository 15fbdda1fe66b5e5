"""Regenerate the polynomial coefficients of normal_cdf, gaussian and
tanh_float in src/cymlp/_fastmath.pxd (``pip install mpmath``; run by hand,
not by the build). Prints each polynomial lowest degree first, with its
maximum error.

* gaussian: exp(r) on |r| <= ln 2 / 2, a Chebyshev fit (relative error).
* tanh_float: expm1(r) / r on the same interval, degree 5 (float32 precision;
  the kernel rounds the coefficients to float).
* normal_cdf: Phi(-|x|) = exp(-x^2 / 2) R(x) / 2 with R(x) = erfc(|x| / sqrt 2)
  exp(x^2 / 2), a polynomial in v = y - 0.5, y = K |x| / (1 + K |x|) in
  [0, 1) (the kernel holds the coefficients halved, which is exact). R is
  fitted for *absolute* accuracy of Phi, i.e. weighted by exp(-x^2 / 2) / 2
  (Lawson's iteration towards the weighted minimax): where Phi is far below
  1/2 it needs fewer correct digits than near x = 0, which saves five degrees
  over an unweighted fit of the same absolute accuracy. A floor of 1e-19 on
  the weight keeps R bounded up to y = 1, so that the kernel needs no clip
  of |x|.
"""

import mpmath as mp

mp.mp.dps = 40
K = mp.mpf(0.17677669529663687)     # 1 / (4 sqrt 2), as the double the kernel uses
CENTER = mp.mpf(0.5)
Y_MAX = mp.mpf("0.9999")            # x = 5.7e4; Phi(-x) is 0 long before


def exp_fit():
    half_ln2 = mp.log(2) / 2
    return mp.chebyfit(mp.exp, [-half_ln2, half_ln2], 12, error=True)


def expm1_over_r_fit():
    half_ln2 = mp.log(2) / 2
    return mp.chebyfit(lambda r: mp.expm1(r) / r if r else mp.mpf(1),
                       [-half_ln2, half_ln2], 6, error=True)


def normal_cdf_fit(n_coefs=15, n_points=500, iterations=40):
    mid = Y_MAX / 2
    ys = [mid + mid * mp.cos(mp.pi * (i + mp.mpf(1) / 2) / n_points) for i in range(n_points)]
    xs = [y / (1 - y) / K for y in ys]
    target = [mp.erfc(x / mp.sqrt(2)) * mp.exp(x * x / 2) for x in xs]
    weight = [mp.exp(-x * x / 2) / 2 + mp.mpf("1e-19") for x in xs]
    lawson = [mp.mpf(1)] * n_points
    best = None
    for _ in range(iterations):
        A = mp.matrix(n_points, n_coefs)
        b = mp.matrix(n_points, 1)
        for i in range(n_points):
            w = weight[i] * lawson[i]
            power = mp.mpf(1)
            for j in range(n_coefs):
                A[i, j] = w * power
                power *= ys[i] - CENTER
            b[i] = w * target[i]
        coefs = mp.qr_solve(A, b)[0]
        errors = [abs(weight[i] * (mp.polyval(list(reversed(coefs)), ys[i] - CENTER)
                                   - target[i])) for i in range(n_points)]
        worst = max(errors)
        if best is None or worst < best[1]:
            best = ([coefs[j] for j in range(n_coefs)], worst)
        total = mp.fsum(lw * e for lw, e in zip(lawson, errors))
        lawson = [lw * e / total * n_points for lw, e in zip(lawson, errors)]
    return best


for name, (coefs, err) in [("gaussian, exp(r)", exp_fit()),
                           ("tanh_float, expm1(r) / r", expm1_over_r_fit()),
                           ("normal_cdf, R(v)", normal_cdf_fit())]:
    if not name.startswith("normal_cdf"):
        coefs = list(reversed(coefs))  # chebyfit gives the highest degree first
    print(f"{name}: degree {len(coefs) - 1}, max error {mp.nstr(err, 2)}")
    print("   ", ", ".join(repr(float(c)) for c in coefs))
