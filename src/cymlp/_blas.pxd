# Row-major matrix product over scipy.linalg.cython_blas, callable without the GIL.
# Every operand is stored contiguously (row-major, its own width as leading
# dimension), so the leading dimensions follow from the shapes.
from cython cimport floating

from ._boundary cimport blas_int

cdef void gemm(bint trans_a, bint trans_b, blas_int m, blas_int n, blas_int k, floating alpha,
               const floating* a, const floating* b, floating beta,
               floating* c) noexcept nogil
