# Row-major matrix product over scipy.linalg.cython_blas, callable without the GIL.
from cython cimport floating

from ._boundary cimport blas_int

cdef void gemm(bint trans_a, bint trans_b, blas_int m, blas_int n, blas_int k, floating alpha,
               const floating* a, blas_int lda, const floating* b, blas_int ldb,
               floating beta, floating* c, blas_int ldc) noexcept nogil
