"""RandomState.shuffle of the sample order, drawn inline from the same stream.

scikit-learn reshuffles the sample order before every epoch with the
estimator's RandomState, so parity needs exactly those draws. numpy's
legacy shuffle pays a function-pointer call, a mask computation and the
MT19937 bookkeeping per element (about 10 ns); on tiny networks that is a
fifth of an epoch. ``shuffler_for`` returns a function that applies the same
swaps, drawing the same 32-bit words from the RandomState's own MT19937
state (advanced in place, so the RandomState continues exactly as if it had
shuffled itself), or ``random_state.shuffle`` itself when the fast path
does not apply.

The algorithm is numpy's: for i = n - 1 down to 1, j = a uniform integer in
[0, i] drawn by masking 32-bit outputs with the smallest all-ones mask >= i
and rejecting values > i; swap x[i] and x[j]. The state is numpy's
``mt19937_state`` (624 key words, then the position), reached through the
bit generator's public ``ctypes.state_address``. A self-test against numpy
(about 0.5 ms, once per process) guards the layout: if it fails, the fast
path is never used.
"""

import numpy as np

from libc.stdint cimport uint32_t


cdef enum:
    MT_N = 624
    MT_M = 397


cdef struct MTState:
    uint32_t key[624]
    int pos


cdef inline uint32_t twist_word(uint32_t upper, uint32_t lower,
                                uint32_t far) noexcept nogil:
    cdef uint32_t y = (upper & 0x80000000u) | (lower & 0x7fffffffu)
    return far ^ (y >> 1) ^ ((0u - (y & 1u)) & 0x9908b0dfu)


cdef void regenerate(MTState* st) noexcept nogil:
    """The MT19937 twist of all 624 words (numpy's mt19937_gen)."""
    cdef int i
    for i in range(MT_N - MT_M):
        st.key[i] = twist_word(st.key[i], st.key[i + 1], st.key[i + MT_M])
    for i in range(MT_N - MT_M, MT_N - 1):
        st.key[i] = twist_word(st.key[i], st.key[i + 1], st.key[i + MT_M - MT_N])
    st.key[MT_N - 1] = twist_word(st.key[MT_N - 1], st.key[0], st.key[MT_M - 1])
    st.pos = 0


cdef inline uint32_t temper(uint32_t y) noexcept nogil:
    y ^= y >> 11
    y ^= (y << 7) & 0x9d2c5680u
    y ^= (y << 15) & 0xefc60000u
    y ^= y >> 18
    return y


cdef void temper_block(const uint32_t* key, uint32_t* words, int start) noexcept nogil:
    """words[k] = the output of key word k, for k >= start (one vectorized pass)."""
    cdef int k
    for k in range(start, MT_N):
        words[k] = temper(key[k])


cdef void shuffle_in_place(MTState* st, Py_ssize_t* x, Py_ssize_t n) noexcept nogil:
    """numpy's legacy shuffle. The outputs of a block are tempered in one
    pass, and the position is kept in a register (stores into x could alias
    the state, so reading st.pos per draw would wait on every swap)."""
    cdef uint32_t words[624]
    cdef int pos = st.pos
    cdef Py_ssize_t i, tmp
    cdef uint32_t bound, mask, j
    temper_block(st.key, words, pos)
    for i in range(n - 1, 0, -1):
        bound = <uint32_t> i
        mask = bound
        mask |= mask >> 1
        mask |= mask >> 2
        mask |= mask >> 4
        mask |= mask >> 8
        mask |= mask >> 16
        while True:
            if pos == MT_N:
                regenerate(st)
                temper_block(st.key, words, 0)
                pos = 0
            j = words[pos] & mask
            pos += 1
            if j <= bound:
                break
        tmp = x[j]
        x[j] = x[i]
        x[i] = tmp
    st.pos = pos


def _shuffle_indices(Py_ssize_t state_address, Py_ssize_t[::1] x):
    """Shuffle x in place from the MT19937 state at ``state_address``."""
    cdef MTState* st = <MTState*> <size_t> state_address
    cdef Py_ssize_t n = x.shape[0]
    if n < 2:
        return
    if st.pos < 0 or st.pos > MT_N:
        raise ValueError("not an MT19937 state")
    with nogil:
        shuffle_in_place(st, &x[0], n)


def _fast_path_agrees():
    """Whether the inline shuffle repeats numpy's exactly (draws and state)."""
    ours, theirs = np.random.RandomState(3), np.random.RandomState(3)
    address = ours._bit_generator.ctypes.state_address
    # small and large bounds, and draws that cross blocks of 624 words
    for n in (1, 2, 700, 1500):
        x = np.arange(n, dtype=np.intp)
        y = x.copy()
        _shuffle_indices(address, x)
        theirs.shuffle(y)
        if not np.array_equal(x, y):
            return False
    return ours.randint(2**31) == theirs.randint(2**31)


_FAST_PATH_OK = None


def shuffler_for(random_state):
    """A function shuffle(x) with the effect of ``random_state.shuffle(x)``.

    x must be a C-contiguous intp array (the sample order).
    """
    global _FAST_PATH_OK
    bit_generator = getattr(random_state, "_bit_generator", None)
    if (type(random_state) is not np.random.RandomState
            or type(bit_generator) is not np.random.MT19937):
        return random_state.shuffle
    if _FAST_PATH_OK is None:
        try:
            _FAST_PATH_OK = _fast_path_agrees()
        except Exception:
            _FAST_PATH_OK = False
    if not _FAST_PATH_OK:
        return random_state.shuffle
    lock = bit_generator.lock
    address = bit_generator.ctypes.state_address

    def shuffle(x):
        if x.shape[0] >= 2**32:  # numpy then draws 64-bit words
            random_state.shuffle(x)
            return
        with lock:
            _shuffle_indices(address, x)

    return shuffle
