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


# splitmix64's increment: draw i of a stream is a function of state + i * it.
cdef extern from *:
    """
    #define CYMLP_SPLITMIX_GAMMA 0x9E3779B97F4A7C15ULL
    """
    const uint64_t SPLITMIX_GAMMA "CYMLP_SPLITMIX_GAMMA"


cdef inline uint64_t skip_draws(uint64_t state, uint64_t count) noexcept nogil:
    """The stream's state ``count`` draws after ``state`` (no draw made)."""
    return state + count * SPLITMIX_GAMMA


cdef inline double uniform01(uint64_t* state) noexcept nogil:
    """Next splitmix64 draw as a double in [0, 1)."""
    cdef uint64_t z
    state[0] += SPLITMIX_GAMMA
    z = state[0]
    z = (z ^ (z >> 30)) * <uint64_t> 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * <uint64_t> 0x94D049BB133111EBULL
    z = z ^ (z >> 31)
    return (z >> 11) * (1.0 / 9007199254740992.0)


cdef inline void column_totals(floating* z, const floating* bias, Py_ssize_t n,
                               Py_ssize_t m, floating* totals) noexcept nogil:
    """z += bias row by row (in place); totals[j] = sum_i z[i, j], rows in order."""
    cdef Py_ssize_t i, j
    cdef floating* row
    for j in range(m):
        totals[j] = 0
    for i in range(n):
        row = z + i * m
        for j in range(m):
            row[j] = row[j] + bias[j]
            totals[j] = totals[j] + row[j]


cdef inline void squared_deviations(const floating* z, const floating* mean, Py_ssize_t n,
                                    Py_ssize_t m, floating* totals) noexcept nogil:
    """totals[j] = sum_i (z[i, j] - mean[j])^2, rows in order."""
    cdef Py_ssize_t i, j
    cdef const floating* row
    cdef floating d
    for j in range(m):
        totals[j] = 0
    for i in range(n):
        row = z + i * m
        for j in range(m):
            d = row[j] - mean[j]
            totals[j] = totals[j] + d * d


cdef inline void finish_statistics(const floating* mean, floating* inv, Py_ssize_t n,
                                   Py_ssize_t m, floating* running,
                                   double momentum) noexcept nogil:
    """inv (IN: sums of squared deviations over n rows, OUT: 1 / std); the
    running statistics move by ``momentum`` (unbiased variance) when > 0 and
    ``running`` is not NULL."""
    cdef Py_ssize_t j
    cdef double var, unbiased
    for j in range(m):
        var = inv[j] / n
        if momentum > 0 and running != NULL:
            unbiased = var * n / (n - 1) if n > 1 else var
            running[j] = <floating> ((1 - momentum) * running[j] + momentum * mean[j])
            running[m + j] = <floating> ((1 - momentum) * running[m + j]
                                         + momentum * unbiased)
        inv[j] = <floating> (1.0 / sqrt(var + BN_EPS))


cdef inline void normalize(floating* z, floating* normed, const floating* mean,
                           const floating* inv, const floating* gamma, const floating* beta,
                           Py_ssize_t n, Py_ssize_t m) noexcept nogil:
    """normed = (z - mean) * inv; z = gamma normed + beta, row by row."""
    cdef Py_ssize_t i, j
    cdef floating* row
    cdef floating* nrow
    for i in range(n):
        row = z + i * m
        nrow = normed + i * m
        for j in range(m):
            nrow[j] = (row[j] - mean[j]) * inv[j]
            row[j] = gamma[j] * nrow[j] + beta[j]


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
    if not training:
        for i in range(n):
            row = z + i * m
            for j in range(m):
                row[j] = ((row[j] + bias[j] - running[j])
                          * <floating> (1.0 / sqrt(running[m + j] + BN_EPS))
                          * gamma[j] + beta[j])
        return
    column_totals(z, bias, n, m, mean)
    for j in range(m):
        mean[j] = mean[j] / n
    squared_deviations(z, mean, n, m, inv)
    finish_statistics(mean, inv, n, m, running, momentum)
    normalize(z, normed, mean, inv, gamma, beta, n, m)


cdef inline void batch_norm_sums(const floating* delta, const floating* normed, Py_ssize_t n,
                                 Py_ssize_t m, floating* grad_gamma,
                                 floating* grad_beta) noexcept nogil:
    """grad_gamma[j] = sum_i delta[i, j] zhat[i, j], grad_beta[j] = sum_i delta[i, j]
    (rows in order, not yet divided by the batch's weight)."""
    cdef Py_ssize_t i, j
    cdef const floating* row
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


cdef inline void batch_norm_delta(floating* delta, const floating* normed,
                                  const floating* inv, const floating* gamma, Py_ssize_t n,
                                  Py_ssize_t m, const floating* sum_gamma,
                                  const floating* sum_beta,
                                  Py_ssize_t n_batch) noexcept nogil:
    """delta (IN: w.r.t. y, OUT: w.r.t. z) of n rows of a batch of ``n_batch``,
    from the batch's sums (``batch_norm_sums``) and its 1 / std ``inv``."""
    cdef Py_ssize_t i, j
    cdef floating* row
    cdef const floating* nrow
    for i in range(n):
        row = delta + i * m
        nrow = normed + i * m
        for j in range(m):
            row[j] = gamma[j] * inv[j] * (row[j] - sum_beta[j] / n_batch
                                          - nrow[j] * sum_gamma[j] / n_batch)


cdef inline void batch_norm_backward(floating* delta, const floating* normed,
                                     const floating* stats, const floating* gamma,
                                     Py_ssize_t n, Py_ssize_t m, floating* grad_gamma,
                                     floating* grad_beta, double sw_sum) noexcept nogil:
    """delta (IN: w.r.t. y, OUT: w.r.t. z) through batch norm; scale/shift grads.

    dz = gamma / std (dy - mean_i dy - zhat mean_i(dy zhat)).
    """
    cdef Py_ssize_t j
    batch_norm_sums(delta, normed, n, m, grad_gamma, grad_beta)
    batch_norm_delta(delta, normed, stats + m, gamma, n, m, grad_gamma, grad_beta, n)
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
