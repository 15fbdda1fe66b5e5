# Branch-free exp and log for the kernels' elementwise loops.
#
# libm's exp and log are scalar calls, so a loop over them cannot vectorize;
# these inline versions are plain arithmetic on the bits and do. Both are
# within 2 ulp of libm's results (tests/test_kernels.py checks them through
# the activations and losses), and give the same answer on every ISA.

from libc.math cimport copysign, fabs


cdef union Bits64:
    double d
    long long i


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
    s1.i = (k1 + 1023) << 52
    s2.i = (ki - k1 + 1023) << 52
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
    # offset of sqrt(2) in the 20 high mantissa bits) before reading the exponent
    e = ((b.i + 0x00095F6200000000LL) >> 52) - 1023
    b.i = b.i - (e << 52)
    m = b.d
    s = (m - 1.0) / (m + 1.0)
    s2 = s * s
    p = s2 * (1.0 / 3 + s2 * (1.0 / 5 + s2 * (1.0 / 7 + s2 * (1.0 / 9 + s2 * (1.0 / 11
        + s2 * (1.0 / 13 + s2 * (1.0 / 15 + s2 * (1.0 / 17 + s2 * (1.0 / 19
        + s2 * (1.0 / 21 + s2 * (1.0 / 23)))))))))))
    return e * 0.6931471803691238 + (2.0 * s + 2.0 * s * p + e * 1.9082149292705877e-10)




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
    s.i = (t.i - 0x4338000000000000LL + 1023) << 52     # 2^k, k in [-58, 0]
    m = s.d * q + (s.d - 1.0)
    m = -m / (2.0 + m)
    return copysign(fabs(m), x)
