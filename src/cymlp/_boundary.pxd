# The kernels' checked entrance: what every Python entry point checks before
# nogil code trusts it. Built once (not once per SIMD level); the network
# modules and the plans cimport these checks.

# BLAS's integer type: scipy.linalg.cython_blas takes 32-bit ints. A 64-bit
# BLAS would change this line (and BLAS_INT_MAX) and nothing else.
ctypedef int blas_int

cdef extern from "<limits.h>":
    const int BLAS_INT_MAX "INT_MAX"


cdef struct Source:
    # Where the first layer reads X: dense rows, or CSR rows.
    const void* dense        # (n_samples, n_features) row-major, or NULL
    const void* data         # CSR values, or NULL
    const int* indices
    const int* indptr
    Py_ssize_t n_features


cdef blas_int check_blas_int(object n, str what) except -1
cdef Py_ssize_t checked_nbytes(object n_elements, Py_ssize_t itemsize, str what) except -1
cdef Py_ssize_t fill_source(Source* src, object X, Py_ssize_t n_features,
                            Py_ssize_t itemsize) except -1
cdef int check_rows(Py_ssize_t actual, Py_ssize_t expected, str name) except -1
cdef int check_length(Py_ssize_t actual, Py_ssize_t expected, str name, str what) except -1
cdef void* float_data(object arr, Py_ssize_t itemsize, str name) except? NULL
cdef const void* readonly_float_data(object arr, Py_ssize_t itemsize, str name) except? NULL
cdef const void* sample_weights(object sample_weight, Py_ssize_t n_rows,
                                Py_ssize_t itemsize) except? NULL
cdef void* running_buffer(object running, Py_ssize_t n_running, Py_ssize_t itemsize,
                          bint writable) except? NULL
cdef Py_ssize_t first_out_of_range(const Py_ssize_t* order, Py_ssize_t n,
                                   Py_ssize_t n_rows) noexcept nogil
