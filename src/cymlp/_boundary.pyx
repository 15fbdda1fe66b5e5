"""The kernels' checked entrance: the checks every Python entry point runs.

The nogil kernels index raw pointers and hand dimensions to BLAS; they trust
what they are given. Every ``def`` entry point of the kernel modules (the
network's four, the plans' constructors, the layout's) first passes its
arguments through these functions, which raise ValueError (TypeError for a
non-array) naming the argument:

* sizes: every dimension that reaches BLAS must fit ``blas_int``; every
  buffer's byte size is computed with Python integers, so a request too large
  raises instead of wrapping around to a small allocation;
* X: a C-contiguous 2-D float array, or CSR ``(data, indices, indptr)``
  arrays whose structure the kernels can follow (O(nnz) check);
* rows and lengths: Y and sample weights have one row per row of X, flat
  buffers have the layout's length;
* float buffers: C-contiguous, of the parameters' dtype, writable where the
  kernels write.

Built once, with the baseline flags: the SIMD levels of the network share it.
"""

import numpy as np

from cpython.pyport cimport PY_SSIZE_T_MAX


cdef blas_int check_blas_int(object n, str what) except -1:
    """``n`` checked to fit a BLAS dimension (at most BLAS_INT_MAX)."""
    if not 0 <= n <= BLAS_INT_MAX:
        raise ValueError(
            f"{what} is {n}, but BLAS (scipy.linalg.cython_blas) takes 32-bit "
            f"dimensions: at most 2**31 - 1 = {BLAS_INT_MAX}")
    return n


cdef Py_ssize_t checked_nbytes(object n_elements, Py_ssize_t itemsize,
                               str what) except -1:
    """Bytes of a buffer of ``n_elements`` items, computed without overflow."""
    nbytes = n_elements * itemsize    # Python ints: exact
    if nbytes > PY_SSIZE_T_MAX:
        raise ValueError(
            f"{what} would hold {n_elements} values of {itemsize} bytes, more than "
            f"the {PY_SSIZE_T_MAX} bytes a buffer can address")
    return nbytes


cdef int check_csr(const int[::1] indptr, const int[::1] indices, Py_ssize_t nnz,
                   Py_ssize_t n_features) except -1:
    """CSR structure the kernels can follow: indptr from 0, non-decreasing, within
    the nnz stored values, every column index in [0, n_features).  O(nnz)."""
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1, i, p, used
    cdef int lo = 0, hi = 0, decreases = 0
    if indices.shape[0] != nnz:
        raise ValueError(f"CSR X: indices has {indices.shape[0]} entries but data has {nnz}")
    if indptr[0] != 0 or indptr[n_rows] > nnz:
        raise ValueError(f"CSR X: indptr must run from 0 to at most nnz = {nnz}, "
                         f"got {indptr[0]} .. {indptr[n_rows]}")
    used = indptr[n_rows]
    with nogil:
        # branch-free reductions (they vectorize); the culprit is found below
        for i in range(n_rows):
            decreases |= indptr[i + 1] < indptr[i]
        if used > 0:
            lo = hi = indices[0]
        for p in range(used):
            lo = min(lo, indices[p])
            hi = max(hi, indices[p])
    if decreases:
        i = np.flatnonzero(np.diff(np.asarray(indptr)) < 0)[0]
        raise ValueError(f"CSR X: indptr decreases at row {i} "
                         f"({indptr[i]} > {indptr[i + 1]})")
    if lo < 0 or hi >= n_features:
        cols = np.asarray(indices[:used])
        p = np.flatnonzero((cols < 0) | (cols >= n_features))[0]
        raise ValueError(f"CSR X: column index {indices[p]} at position {p} is "
                         f"outside [0, {n_features}) for this network's inputs")
    return 0


cdef Py_ssize_t fill_source(Source* src, object X, Py_ssize_t n_features,
                            Py_ssize_t itemsize) except -1:
    """Point ``src`` at X, checked; return X's number of rows.

    X is a C-contiguous 2-D array of floats of ``itemsize`` bytes with
    ``n_features`` columns, or a CSR ``(data, indices, indptr)`` tuple (int32
    indices) of the same width.
    """
    cdef const int[::1] indices, indptr
    src.dense = NULL
    src.data = NULL
    src.indices = NULL
    src.indptr = NULL
    src.n_features = n_features
    if isinstance(X, tuple):
        if len(X) != 3:
            raise ValueError("CSR X must be a (data, indices, indptr) tuple")
        indices, indptr = X[1], X[2]
        if indptr.shape[0] < 1:
            raise ValueError("CSR X: indptr needs n_rows + 1 >= 1 entries")
        if X[0].ndim != 1:
            raise ValueError("CSR X: data must be 1-D")
        check_csr(indptr, indices, X[0].shape[0], n_features)
        src.data = readonly_float_data(X[0], itemsize, "CSR X's data")
        if src.data != NULL:
            src.indices = &indices[0]
        src.indptr = &indptr[0]
        return indptr.shape[0] - 1
    if not isinstance(X, np.ndarray) or X.ndim != 2:
        raise ValueError("X must be a 2-D array or CSR (data, indices, indptr) arrays")
    if X.shape[1] != n_features:
        raise ValueError(f"X has {X.shape[1]} columns; this network takes {n_features}")
    src.dense = readonly_float_data(X, itemsize, "X")
    return X.shape[0]


cdef int check_rows(Py_ssize_t actual, Py_ssize_t expected, str name) except -1:
    """``name`` must have one row per row of X."""
    if actual != expected:
        raise ValueError(f"{name} has {actual} rows but X has {expected}")
    return 0


cdef int check_length(Py_ssize_t actual, Py_ssize_t expected, str name,
                      str what) except -1:
    """A flat buffer must hold ``expected`` values (``what``: of what)."""
    if actual != expected:
        raise ValueError(f"{name} has {actual} values but the layout has {expected} {what}")
    return 0


cdef int check_float_array(object arr, Py_ssize_t itemsize, str name) except -1:
    """``arr`` is a C-contiguous ndarray of floats of ``itemsize`` bytes."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, not {type(arr).__name__}")
    if arr.dtype.kind != "f" or arr.dtype.itemsize != itemsize:
        raise ValueError(f"{name} must be float{8 * itemsize}, the dtype of the other "
                         f"buffers, not {arr.dtype}")
    if not arr.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")
    return 0


cdef void* float_data(object arr, Py_ssize_t itemsize, str name) except? NULL:
    """Address of a writable float array's data, checked (NULL if empty)."""
    cdef double[::1] d
    cdef float[::1] f
    check_float_array(arr, itemsize, name)
    if arr.size == 0:
        return NULL
    if itemsize == sizeof(double):
        d = arr.reshape(-1)            # a view: arr is C-contiguous
        return &d[0]
    f = arr.reshape(-1)
    return &f[0]


cdef const void* readonly_float_data(object arr, Py_ssize_t itemsize,
                                     str name) except? NULL:
    """Address of a (possibly read-only) float array's data, checked (NULL if
    empty or None)."""
    cdef const double[::1] d
    cdef const float[::1] f
    if arr is None:
        return NULL
    check_float_array(arr, itemsize, name)
    if arr.size == 0:
        return NULL
    if itemsize == sizeof(double):
        d = arr.reshape(-1)
        return &d[0]
    f = arr.reshape(-1)
    return &f[0]


cdef const void* sample_weights(object sample_weight, Py_ssize_t n_rows,
                                Py_ssize_t itemsize) except? NULL:
    """Address of the sample weights (NULL for None): a 1-D float array of
    ``itemsize`` bytes with one weight per row."""
    if sample_weight is None:
        return NULL
    check_float_array(sample_weight, itemsize, "sample_weight")
    if sample_weight.ndim != 1:
        raise ValueError("sample_weight must be a 1-D array")
    check_rows(sample_weight.shape[0], n_rows, "sample_weight")
    return readonly_float_data(sample_weight, itemsize, "sample_weight")


cdef void* running_buffer(object running, Py_ssize_t n_running, Py_ssize_t itemsize,
                          bint writable) except? NULL:
    """Address of the batch-norm running statistics (NULL without batch norm).

    Training writes them; prediction only reads them (a read-only buffer is
    fine then: the pointer is not written through).
    """
    if n_running == 0:
        return NULL
    if running is None or running.shape[0] != n_running:
        raise ValueError("batch normalization needs its running statistics buffer")
    if writable:
        return float_data(running, itemsize, "running")
    return <void*> readonly_float_data(running, itemsize, "running")


cdef Py_ssize_t first_out_of_range(const Py_ssize_t* order, Py_ssize_t n,
                                   Py_ssize_t n_rows) noexcept nogil:
    """Index of the first entry of ``order`` outside [0, n_rows), or -1."""
    cdef Py_ssize_t i
    for i in range(n):
        if order[i] < 0 or order[i] >= n_rows:
            return i
    return -1
