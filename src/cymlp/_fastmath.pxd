# Branch-free exp, log, tanh and the normal CDF for the kernels' elementwise
# loops.
#
# libm's exp, log and erf are scalar calls, so a loop over them cannot
# vectorize; these inline versions are plain arithmetic on the bits and do.
# exp, log and tanh are within a few ulp of numpy's / scipy's results; GELU's
# gaussian and normal_cdf are accurate in absolute terms, which is what
# x Phi(x) needs (each docstring says how; tests/test_fastmath.py checks them
# directly and through the activations and losses). None uses fma or
# reassociation, so every ISA computes the same bits.

from libc.math cimport copysign, copysignf, fabs, fabsf


cdef union Bits64:
    double d
    long long i
    unsigned long long u


cdef union Bits32:
    float f
    unsigned int u


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



cdef inline float tanh_float(float x) noexcept nogil:
    """tanh(x) in float32 arithmetic within a few float32 ulp: tanh_inline's
    method with float constants, so float32 loops run twice as many lanes and
    half the degree. expm1(r) = r P(r), P of degree 5 (a Chebyshev fit to
    expm1(r) / r on |r| <= ln 2 / 2, error 1e-8; tools/fastmath_coefficients.py).
    """
    cdef Bits32 t, s
    cdef float y, k, r, q, m
    # every constant cast to float: a bare 2.0 is a double in C, and would
    # take the loop through double precision at half the lanes
    y = <float> -2.0 * fabsf(x)
    y = <float> -18.0 if y < <float> -18.0 else y  # expm1(-18) rounds to -1; NaN passes
    t.f = y * <float> 1.4426950408889634 + <float> 12582912.0   # 1.5 * 2^23
    k = t.f - <float> 12582912.0
    r = y - k * <float> 0.693145751953125 - k * <float> 1.428606765330187e-06
    q = r * (<float> 1.0 + r * (<float> 0.5 + r * (<float> 0.16666504740715027
        + r * (<float> 0.04166646674275398 + r * (<float> 0.008369148708879948
        + r * <float> 0.0013933641603216529)))))
    s.u = (t.u - 0x4B400000U + 127U) << 23     # 2^k, k in [-26, 0]
    m = s.f * q + (s.f - <float> 1.0)
    return copysignf(m / (<float> -2.0 - m), x)   # copysign drops the quotient's sign


cdef inline double gaussian(double x) noexcept nogil:
    """exp(-x^2 / 2), to the absolute accuracy GELU needs: within 2 ulp for
    |x| <= 1.2 (where k = 0 or -1), and from there within 2 (|k| + 1) ulp,
    k = round(x^2 / (2 ln 2)) (x^2 is rounded, and the range reduction uses
    one constant), on a value below 1/2: below 1.2e-16 absolute (2.3e-16
    for any x). Beyond x^2 / 2 = 708 (|x| > 37.6, where the value falls
    below 3.4e-308, the order of the smallest normal) it is 0, and so at
    x = +-inf; NaN passes. tests/test_fastmath.py measures these bounds
    against an exact reference.

    exp(-s) = 2^k exp(r), r = -s - k ln 2 in [-ln 2 / 2, ln 2 / 2], exp(r) by
    a degree-11 Chebyshev fit (error 3e-18; tools/fastmath_coefficients.py),
    and 2^k (k in [-1022, 0]) by a left shift of unsigned bits.
    """
    cdef Bits64 t, scale
    cdef double xx, xx_clipped, k, r, r2, r4, p
    xx = x * x
    # clipped, so that 2^k stays a normal number; the result is then set to 0
    xx_clipped = 1416.0 if xx > 1416.0 else xx
    t.d = xx_clipped * -0.7213475204444817 + 6755399441055744.0   # -1 / (2 ln 2); 1.5 * 2^52
    k = t.d - 6755399441055744.0
    r = xx_clipped * -0.5 - k * 0.6931471805599453
    # Estrin's scheme: short dependency chains (Horner's 11 chained steps
    # left the loop waiting on latency), the same bits on every ISA
    r2 = r * r
    r4 = r2 * r2
    p = ((1.0 + r) + r2 * (0.5000000000000019 + r * 0.1666666666666668)) + r4 * (
        ((0.0416666666664881 + r * 0.008333333333319601)
         + r2 * (0.0013888888952314775 + r * 0.00019841269890047113))
        + r4 * ((2.4801485482328494e-05 + r * 2.755724091857897e-06)
                + r2 * (2.763263963904103e-07 + r * 2.5110037605963777e-08)))
    scale.u = (t.u - 0x4338000000000000ULL + 1023) << 52
    return 0.0 if xx > 1416.0 else p * scale.d


cdef inline double normal_cdf(double x, double g) noexcept nogil:
    """Phi(x), the standard normal CDF, given g = gaussian(x) = exp(-x^2 / 2)
    (which GELU's derivative shares), within 2 ulp of 1/2, absolute.

    Branch-free, and without erf: Phi(-|x|) = g R(x) / 2 with
    R(x) = erfc(|x| / sqrt 2) exp(x^2 / 2), smooth and in (0, 1]; R is a
    degree-14 polynomial in y - 0.5, y = K |x| / (1 + K |x|) in [0, 1),
    K = 1 / (4 sqrt 2). Phi(|x|) is 1 - Phi(-|x|). The accuracy is absolute,
    not relative: the fit is weighted by g / 2 (error 4e-18 before rounding),
    so in the left tail (Phi(x) < 1e-3, x < -3.1) the absolute error stays
    below 1e-17 but the relative error grows without bound; GELU, x Phi(x),
    needs no more there. Phi is 0 below x = -37.5 (where it would go
    subnormal), NaN passes, Phi(inf) = 1, Phi(-inf) = 0.
    tools/fastmath_coefficients.py fits R.
    """
    cdef double a = fabs(x)
    cdef double k, y, v, v2, r, h
    k = 0.17677669529663687 * a
    y = k / (1.0 + k)              # 1 - t for t = 1 / (1 + K|x|): exact near 0
    v = y - 0.5
    # R / 2 (the coefficients halved, exactly) by second-order Horner: the
    # even and the odd terms as two independent chains in v^2
    v2 = v * v
    r = ((0.06849972879899408 + v2 * (0.43743932095007326 + v2 * (0.8716953816472499 +
         v2 * (1.000908147585298 + v2 * (0.5060616156137917 + v2 *
         (-0.10466912568516483 + v2 * (-0.23571358495318276 + v2 *
         -0.0329632409804853)))))))
         + v * (-0.2590680498286786 + v2 * (-0.6570320144608539 + v2 *
               (-1.009820213814539 + v2 * (-0.8254627922218397 + v2 *
               (-0.2456786832183971 + v2 * (-0.07691134045283386 + v2 *
               -0.1558915366098438)))))))
    h = g * r                      # Phi(-|x|)
    h = 0.0 if a >= 37.5 else h    # and for inf (y = NaN); NaN fails the test and stays NaN
    return 1.0 - h if x > 0 else h
