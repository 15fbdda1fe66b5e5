"""Row-major GEMM on top of scipy's column-major BLAS (``scipy.linalg.cython_blas``).

``C = alpha * op(A) @ op(B) + beta * C`` with C of shape (m, n) and op(A) of
shape (m, k), all arrays row-major (C order). Row-major C is column-major
C.T, so we ask BLAS for ``C.T = op(B).T @ op(A).T``: the operands swap and the
transpose flags stay as they are.
"""

from scipy.linalg.cython_blas cimport dgemm, sgemm

from ._boundary cimport blas_int, check_blas_int


cdef void gemm(bint trans_a, bint trans_b, blas_int m, blas_int n, blas_int k, floating alpha,
               const floating* a, const floating* b, floating beta,
               floating* c) noexcept nogil:
    """C (m, n) = alpha * op(A) @ op(B) + beta * C, all row-major and contiguous:
    A is stored (m, k), or (k, m) transposed; B (k, n), or (n, k) transposed."""
    cdef char ta = b't' if trans_a else b'n'
    cdef char tb = b't' if trans_b else b'n'
    cdef blas_int lda = max(m if trans_a else k, 1)    # BLAS wants >= 1
    cdef blas_int ldb = max(k if trans_b else n, 1)
    cdef blas_int ldc = max(n, 1)
    if m == 0 or n == 0:
        return
    if floating is double:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*> b, &ldb, <double*> a, &lda,
              &beta, c, &ldc)
    else:
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float*> b, &ldb, <float*> a, &lda,
              &beta, c, &ldc)


def gemm_py(bint trans_a, bint trans_b, double alpha, const floating[:, ::1] a,
            const floating[:, ::1] b, double beta, floating[:, ::1] c):
    """Test entry point: ``c = alpha * op(a) @ op(b) + beta * c`` in place.

    The operands' dtype (float32 or float64) selects the kernel.
    """
    cdef Py_ssize_t m = c.shape[0]
    cdef Py_ssize_t n = c.shape[1]
    cdef Py_ssize_t k = a.shape[0] if trans_a else a.shape[1]
    cdef Py_ssize_t kb = b.shape[1] if trans_b else b.shape[0]
    if k != kb or (a.shape[1] if trans_a else a.shape[0]) != m \
            or (b.shape[0] if trans_b else b.shape[1]) != n:
        raise ValueError("gemm_py: operand shapes do not match")
    for dim, what in ((m, "gemm_py: rows of c"), (n, "gemm_py: columns of c"),
                      (k, "gemm_py: the inner dimension"),
                      (a.shape[1], "gemm_py: the leading dimension of a"),
                      (b.shape[1], "gemm_py: the leading dimension of b")):
        check_blas_int(dim, what)
    if m == 0 or n == 0:
        return
    with nogil:
        gemm(trans_a, trans_b, <blas_int> m, <blas_int> n, <blas_int> k, <floating> alpha,
             &a[0, 0], &b[0, 0], <floating> beta, &c[0, 0])
