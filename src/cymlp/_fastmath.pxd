# Branch-free exp, log, tanh and erf for the kernels' elementwise loops.
#
# libm's exp, log and erf are scalar calls, so a loop over them cannot
# vectorize; these inline versions are plain arithmetic on the bits and do.
# They are within a few ulp of numpy's / scipy's results (tests/test_fastmath.py
# checks them through the activations and losses), use no fma and no
# reassociation, and so give the same answer on every ISA.

from libc.math cimport copysign, fabs


cdef union Bits64:
    double d
    long long i
    unsigned long long u


cdef inline double exp_inline(double x) noexcept nogil:
    """exp(x) within 1 ulp, branch-free so that loops calling it vectorize.

    exp(x) = 2^k exp(r) with k = round(x / ln 2), |r| <= ln 2 / 2, exp(r) by
    its Taylor series to degree 13, and 2^k built from exponent bits in two
    halves so that results down to the subnormals come out right. NaN stays
    NaN; overflow gives inf, underflow 0.
    """
    cdef Bits64 t, s1, s2
    cdef double k, r, p
    cdef long long ki, k1
    x = 710.0 if x > 710.0 else x
    x = -746.0 if x < -746.0 else x
    # Adding 1.5 * 2^52 rounds to an integer held in the low mantissa bits.
    t.d = x * 1.4426950408889634 + 6755399441055744.0
    k = t.d - 6755399441055744.0
    ki = t.i - 0x4338000000000000LL    # the bits of 1.5 * 2^52 + k, minus 1.5 * 2^52's
    r = x - k * 0.6931471803691238 - k * 1.9082149292705877e-10
    p = 1.0 + r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120
        + r * (1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320 + r * (1.0 / 362880
        + r * (1.0 / 3628800 + r * (1.0 / 39916800 + r * (1.0 / 479001600.0
        + r * (1.0 / 6227020800.0)))))))))))))
    k1 = ((ki + 2048) >> 1) - 1024    # floor(k / 2), shifting a non-negative value
    # unsigned shifts: for NaN input the exponents are garbage (and may be
    # negative, which C does not allow to shift); the NaN passes regardless
    s1.u = <unsigned long long> (k1 + 1023) << 52
    s2.u = <unsigned long long> (ki - k1 + 1023) << 52
    return p * s1.d * s2.d


cdef inline double log_positive(double x) noexcept nogil:
    """log(x) within 1 ulp for positive normal x, branch-free (loops vectorize).

    x = m 2^e with m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(s) with
    s = (m - 1) / (m + 1), |s| <= 0.1716, by its odd series to s^23.
    """
    cdef Bits64 b
    cdef long long e
    cdef double m, s, s2, p
    b.d = x
    # exponent relative to [sqrt(1/2), sqrt(2)): shift the mantissa by 0x95f62 (the
    # offset of sqrt(2) in the 20 high mantissa bits) before reading the
    # exponent. Unsigned arithmetic throughout: it wraps where signed
    # arithmetic would be undefined (a NaN's bits), and for positive normal x
    # it gives the same bits.
    e = <long long> ((b.u + 0x00095F6200000000ULL) >> 52) - 1023
    b.u = b.u - (<unsigned long long> e << 52)
    m = b.d
    s = (m - 1.0) / (m + 1.0)
    s2 = s * s
    p = s2 * (1.0 / 3 + s2 * (1.0 / 5 + s2 * (1.0 / 7 + s2 * (1.0 / 9 + s2 * (1.0 / 11
        + s2 * (1.0 / 13 + s2 * (1.0 / 15 + s2 * (1.0 / 17 + s2 * (1.0 / 19
        + s2 * (1.0 / 21 + s2 * (1.0 / 23)))))))))))
    # + (x - x): 0 for finite x, NaN for NaN (whose bits above give a finite m)
    return e * 0.6931471803691238 + (2.0 * s + 2.0 * s * p + e * 1.9082149292705877e-10) + (x - x)




cdef inline double tanh_inline(double x) noexcept nogil:
    """tanh(x) within a few ulp, branch-free: sign(x) * -m / (2 + m) with
    m = expm1(-2|x|), which keeps full relative accuracy near 0.

    expm1(y) = 2^k (1 + q) - 1 = 2^k q + (2^k - 1) with y = k ln 2 + r,
    |r| <= ln 2 / 2 and q = expm1(r) by its Taylor series to degree 13.
    """
    cdef Bits64 t, s
    cdef double y, k, r, q, m
    y = -2.0 * (-x if x < 0 else x)
    y = -40.0 if y < -40.0 else y          # expm1(-40) rounds to -1; NaN passes
    t.d = y * 1.4426950408889634 + 6755399441055744.0
    k = t.d - 6755399441055744.0
    r = y - k * 0.6931471803691238 - k * 1.9082149292705877e-10
    q = r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120
        + r * (1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320 + r * (1.0 / 362880
        + r * (1.0 / 3628800 + r * (1.0 / 39916800 + r * (1.0 / 479001600.0
        + r * (1.0 / 6227020800.0)))))))))))))
    s.u = (t.u - 0x4338000000000000ULL + 1023) << 52   # 2^k, k in [-58, 0]
    m = s.d * q + (s.d - 1.0)
    m = -m / (2.0 + m)
    return copysign(fabs(m), x)



cdef inline double exp_negative(double s) noexcept nogil:
    """exp(-s) for s >= 0 within 1 ulp (s clipped at 708, where the result is
    the smallest normal's order; NaN passes), cheaper than exp_inline: one
    scale 2^k with k in [-1022, 0], built by a left shift of unsigned bits
    (exp_inline's 64-bit arithmetic right shift has no SSE2 or AVX2
    instruction, so gcc emulates it), and exp(r) on |r| <= ln 2 / 2 by a
    degree-11 Chebyshev fit (error 3e-18; tools/fastmath_coefficients.py).
    """
    cdef Bits64 t, scale
    cdef double k, r, p
    s = 708.0 if s > 708.0 else s
    t.d = s * -1.4426950408889634 + 6755399441055744.0
    k = t.d - 6755399441055744.0
    r = -s - k * 0.6931471803691238 - k * 1.9082149292705877e-10
    p = 1.0 + r * (1.0 + r * (0.5000000000000019 + r * (0.1666666666666668
        + r * (0.0416666666664881 + r * (0.008333333333319601
        + r * (0.0013888888952314775 + r * (0.00019841269890047113
        + r * (2.4801485482328494e-05 + r * (2.755724091857897e-06
        + r * (2.763263963904103e-07 + r * 2.5110037605963777e-08))))))))))
    scale.u = (t.u - 0x4338000000000000ULL + 1023) << 52
    return p * scale.d


cdef inline double erf_with_gaussian(double x, double g) noexcept nogil:
    """erf(x) given g = exp_negative(x * x), which the GELU derivative shares.

    Branch-free: both pieces computed, one kept.

    |x| < 1: erf(x) = x P(x^2), P of degree 11.
    |x| >= 1: erf(x) = 1 - erfc(x), erfc(x) = exp(-x^2) t Q(t - 9/16) with
    t = 1 / (1 + 0.3 |x|), Q of degree 15; erfc < 0.16 there, so the rounding
    of x^2 costs well under an ulp. |x| is clipped at 6, where erfc(x) < 2e-17
    and erf rounds to 1 (g is not clipped, so it only gets smaller beyond),
    so inf gives 1; NaN passes; the sign is copied back
    (erf(-0.0) = -0.0). P and Q: Chebyshev fits to erf(x) / x and
    erfc(x) exp(x^2) / t at 60 digits, fit errors 7e-18 and 3e-18, rounded to
    doubles (tools/fastmath_coefficients.py prints them).
    """
    cdef double a = fabs(x)
    cdef double s, t, u, p, q
    a = 6.0 if a > 6.0 else a
    s = a * a
    p = a * (1.1283791670955126 + s * (-0.37612638903183543 + s * (0.11283791670945006
        + s * (-0.02686617064323777 + s * (0.0052239776071164225
        + s * (-0.0008548325975389692 + s * (0.00012055294904839707
        + s * (-1.492473690741966e-05 + s * (1.6447424703317362e-06
        + s * (-1.6208483801871705e-07 + s * (1.3720064546777686e-08
        + s * -7.795898827002142e-10)))))))))))
    t = 1.0 / (1.0 + 0.3 * a)
    u = t - 0.5625
    q = t * (0.3628977389640407 + u * (0.6645089438664568 + u * (0.9962199331088143
        + u * (1.2044397775484224 + u * (1.13139954272569 + u * (0.753703516299866
        + u * (0.25413594006095813 + u * (-0.09140786367805197
        + u * (-0.14665605142914165 + u * (-0.02606553700298059
        + u * (0.056983452684703555 + u * (0.027001035564060707
        + u * (-0.024145761684584596 + u * (-0.016785973628909566
        + u * (0.01165643767147945 + u * 0.008552975934548344)))))))))))))))
    q = 1.0 - g * q
    return copysign(p if a < 1.0 else q, x)


cdef inline double erf_inline(double x) noexcept nogil:
    """erf(x) within a few ulp, branch-free (see erf_with_gaussian)."""
    return erf_with_gaussian(x, exp_negative(x * x))
