# Hidden-layer extras: batch normalization and inverted dropout, fused
# float32/float64, `cdef inline` so that each SIMD variant of the network
# compiles them with its own flags (see _dispatch.py).
#
# Row-major (n, m) buffers, one column per unit. Batch normalization keeps
# what its backward pass needs (zhat in ``normed``, the batch mean and 1 / std
# in ``stats``); dropout draws its masks from a splitmix64 stream.
from cython cimport floating
from libc.stdint cimport uint64_t
from libc.math cimport sqrt

# Batch normalization's variance floor.
cdef extern from *:
    """
    static const double cymlp_bn_eps = 1e-5;
    """
    const double BN_EPS "cymlp_bn_eps"


cdef inline double uniform01(uint64_t* state) noexcept nogil:
    """Next splitmix64 draw as a double in [0, 1)."""
    cdef uint64_t z
    state[0] += <uint64_t> 0x9E3779B97F4A7C15ULL
    z = state[0]
    z = (z ^ (z >> 30)) * <uint64_t> 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * <uint64_t> 0x94D049BB133111EBULL
    z = z ^ (z >> 31)
    return (z >> 11) * (1.0 / 9007199254740992.0)


cdef inline void batch_norm_forward(floating* z, const floating* bias, Py_ssize_t n,
                                    Py_ssize_t m, const floating* gamma, const floating* beta,
                                    floating* normed, floating* stats, floating* running,
                                    double momentum, bint training) noexcept nogil:
    """z = gamma (z + bias - mean) / sqrt(var + eps) + beta, in place, (n, m).

    Training: batch mean and biased variance per column, kept as stats[:m]
    (mean) and stats[m:] (1 / std) with zhat in ``normed`` for the backward
    pass; running statistics move by ``momentum`` (unbiased variance) when
    momentum > 0. Prediction: the running statistics.
    """
    cdef Py_ssize_t i, j
    cdef floating* mean = stats
    cdef floating* inv = stats + m
    cdef floating* row
    cdef floating* nrow
    cdef double var, unbiased
    cdef floating d
    if not training:
        for i in range(n):
            row = z + i * m
            for j in range(m):
                row[j] = ((row[j] + bias[j] - running[j])
                          * <floating> (1.0 / sqrt(running[m + j] + BN_EPS))
                          * gamma[j] + beta[j])
        return
    for j in range(m):
        mean[j] = 0
        inv[j] = 0
    for i in range(n):
        row = z + i * m
        for j in range(m):
            row[j] = row[j] + bias[j]
            mean[j] = mean[j] + row[j]
    for j in range(m):
        mean[j] = mean[j] / n
    for i in range(n):
        row = z + i * m
        for j in range(m):
            d = row[j] - mean[j]
            inv[j] = inv[j] + d * d
    for j in range(m):
        var = inv[j] / n
        if momentum > 0:
            unbiased = var * n / (n - 1) if n > 1 else var
            running[j] = <floating> ((1 - momentum) * running[j] + momentum * mean[j])
            running[m + j] = <floating> ((1 - momentum) * running[m + j]
                                         + momentum * unbiased)
        inv[j] = <floating> (1.0 / sqrt(var + BN_EPS))
    for i in range(n):
        row = z + i * m
        nrow = normed + i * m
        for j in range(m):
            nrow[j] = (row[j] - mean[j]) * inv[j]
            row[j] = gamma[j] * nrow[j] + beta[j]


cdef inline void batch_norm_backward(floating* delta, const floating* normed,
                                     const floating* stats, const floating* gamma,
                                     Py_ssize_t n, Py_ssize_t m, floating* grad_gamma,
                                     floating* grad_beta, double sw_sum) noexcept nogil:
    """delta (IN: w.r.t. y, OUT: w.r.t. z) through batch norm; scale/shift grads.

    dz = gamma / std (dy - mean_i dy - zhat mean_i(dy zhat)).
    """
    cdef Py_ssize_t i, j
    cdef const floating* inv = stats + m
    cdef floating* row
    cdef const floating* nrow
    for j in range(m):
        grad_gamma[j] = 0
        grad_beta[j] = 0
    for i in range(n):
        row = delta + i * m
        nrow = normed + i * m
        for j in range(m):
            grad_gamma[j] = grad_gamma[j] + row[j] * nrow[j]
            grad_beta[j] = grad_beta[j] + row[j]
    for i in range(n):
        row = delta + i * m
        nrow = normed + i * m
        for j in range(m):
            row[j] = gamma[j] * inv[j] * (row[j] - grad_beta[j] / n
                                          - nrow[j] * grad_gamma[j] / n)
    for j in range(m):
        grad_gamma[j] = grad_gamma[j] / <floating> sw_sum
        grad_beta[j] = grad_beta[j] / <floating> sw_sum


cdef inline void dropout_forward(const floating* a, floating* keep, floating* dropped,
                                 Py_ssize_t size, double rate, uint64_t* rng) noexcept nogil:
    """Inverted dropout: keep = 1 / (1 - rate) with probability 1 - rate, else 0."""
    cdef Py_ssize_t i
    cdef floating scale = <floating> (1.0 / (1.0 - rate))
    cdef floating k
    for i in range(size):
        k = scale if uniform01(rng) >= rate else 0
        keep[i] = k
        dropped[i] = a[i] * k
