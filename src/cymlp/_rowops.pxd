# Small inline loops over row-major (n_rows, n_cols) buffers, shared by the
# network's passes and losses: row gathering, column sums, weighted totals
# and sums of squares.

from libc.string cimport memcpy
from cython cimport floating


cdef inline void gather_rows(const floating* src, const Py_ssize_t* rows, Py_ssize_t n,
                             Py_ssize_t width, floating* out) noexcept nogil:
    """out[i, :] = src[rows[i], :]; short rows copied inline, long ones by memcpy."""
    cdef Py_ssize_t i, j
    cdef const floating* s
    if width >= 32:
        for i in range(n):
            memcpy(out + i * width, src + rows[i] * width, width * sizeof(floating))
        return
    for i in range(n):
        s = src + rows[i] * width
        for j in range(width):
            out[i * width + j] = s[j]


cdef inline void column_sums(const floating* a, Py_ssize_t n_rows, Py_ssize_t n_cols,
                             floating* out) noexcept nogil:
    """out[j] = sum_i a[i, j], adding the rows in order (numpy's order for axis 0).

    Up to 8 columns the sums live in registers: adding row after row into
    ``out`` would chain every add through a store and a reload of the same
    address. Wider rows are added into ``out`` one row at a time, which
    vectorizes across the columns and keeps many sums in flight.
    """
    cdef Py_ssize_t i, j
    cdef const floating* r
    cdef floating s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0
    if n_cols > 8:
        for j in range(n_cols):
            out[j] = 0
        for i in range(n_rows):
            r = a + i * n_cols
            for j in range(n_cols):
                out[j] = out[j] + r[j]
        return
    for i in range(n_rows):
        r = a + i * n_cols
        s0 = s0 + r[0]
        if n_cols > 1:
            s1 = s1 + r[1]
        if n_cols > 2:
            s2 = s2 + r[2]
        if n_cols > 3:
            s3 = s3 + r[3]
        if n_cols > 4:
            s4 = s4 + r[4]
        if n_cols > 5:
            s5 = s5 + r[5]
        if n_cols > 6:
            s6 = s6 + r[6]
        if n_cols > 7:
            s7 = s7 + r[7]
    out[0] = s0
    if n_cols > 1:
        out[1] = s1
    if n_cols > 2:
        out[2] = s2
    if n_cols > 3:
        out[3] = s3
    if n_cols > 4:
        out[4] = s4
    if n_cols > 5:
        out[5] = s5
    if n_cols > 6:
        out[6] = s6
    if n_cols > 7:
        out[7] = s7


cdef inline double sum_of_squares(const floating* v, Py_ssize_t size) noexcept nogil:
    """sum v_i^2 in double: eight running sums, one vector register's worth,
    so that the loop vectorizes without reassociating (four left gcc two
    2-wide halves)."""
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    cdef double s4 = 0.0, s5 = 0.0, s6 = 0.0, s7 = 0.0
    cdef Py_ssize_t i, end = size - size % 8
    for i in range(0, end, 8):
        s0 += <double> v[i] * v[i]
        s1 += <double> v[i + 1] * v[i + 1]
        s2 += <double> v[i + 2] * v[i + 2]
        s3 += <double> v[i + 3] * v[i + 3]
        s4 += <double> v[i + 4] * v[i + 4]
        s5 += <double> v[i + 5] * v[i + 5]
        s6 += <double> v[i + 6] * v[i + 6]
        s7 += <double> v[i + 7] * v[i + 7]
    for i in range(end, size):
        s0 += <double> v[i] * v[i]
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))


cdef inline double weighted_row(const floating* a, const floating* w, Py_ssize_t i,
                                Py_ssize_t n_cols) noexcept nogil:
    """w_i sum_j a[i, j] in double (w NULL: weight 1)."""
    cdef const floating* r = a + i * n_cols
    cdef double row = r[0]
    cdef Py_ssize_t j
    for j in range(1, n_cols):
        row += r[j]
    return row if w == NULL else row * w[i]


cdef inline double weighted_row_total(const floating* a, const floating* w,
                                      Py_ssize_t n_rows, Py_ssize_t n_cols) noexcept nogil:
    """sum_i w_i sum_j a[i, j] in double (w NULL: all weights 1).

    Four running sums over the rows, so that the adds pipeline instead of
    waiting on each other (numpy's sum does not add in plain order either).
    """
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    cdef Py_ssize_t i, end = n_rows - n_rows % 4
    for i in range(0, end, 4):
        s0 += weighted_row(a, w, i, n_cols)
        s1 += weighted_row(a, w, i + 1, n_cols)
        s2 += weighted_row(a, w, i + 2, n_cols)
        s3 += weighted_row(a, w, i + 3, n_cols)
    for i in range(end, n_rows):
        s0 += weighted_row(a, w, i, n_cols)
    return (s0 + s1) + (s2 + s3)
