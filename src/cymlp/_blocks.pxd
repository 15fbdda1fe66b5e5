# The data-parallel path's scratch for one fit: a batch cut into row blocks,
# one workspace and one raw gradient per block, and the parameter buffer cut
# into chunks for the reduction and the optimizer step. The cut depends on the
# batch size (and the network) only, never on the number of threads, so that
# every thread count computes the same bits.

from libc.stdint cimport uint64_t

from ._layout cimport LayoutC, WorkC, Layout

cdef enum:
    MAX_BLOCKS = 64          # blocks of one batch, at most
    CHUNK = 256              # parameters per chunk of the reduction and step


cdef struct BlocksC:
    int n_threads            # OpenMP threads to ask for
    Py_ssize_t n_blocks      # blocks of a full batch (of the plan's batch size)
    WorkC** ws               # [n_blocks] each block's scratch
    void** grads             # [n_blocks] each block's raw gradient sums; [0] is the
                             # batch's gradient, finished there by the reduction
    void* partial            # [n_blocks * 2 * width] each block's batch-norm sums
    double* loss             # [n_blocks] each block's data loss
    Py_ssize_t n_chunks
    Py_ssize_t* chunk_start  # [n_chunks + 1] where each chunk of parameters starts
    Py_ssize_t* layer_chunks # [n_layers] the first chunk of each layer's weights; the
                             # last entry: the first chunk past every weight
    double* chunk_wsq        # [n_chunks] its sum of squared weights (before the step)
    double* chunk_gsq        # [n_chunks] its sum of squared gradients
    uint64_t rng             # the dropout stream's state at the next batch


cdef class Blocks:
    cdef BlocksC c
    cdef readonly Layout layout
    cdef readonly Py_ssize_t capacity
    cdef list workspaces
    cdef tuple arrays
    cdef int set_gradient(self, object grads) except -1


cdef inline Py_ssize_t blocks_of(const BlocksC* b, Py_ssize_t n_rows) noexcept nogil:
    """Blocks of a batch of ``n_rows`` (the last batch of an epoch may be short)."""
    return b.n_blocks if b.n_blocks < n_rows else n_rows


cdef inline Py_ssize_t block_row(Py_ssize_t n_rows, Py_ssize_t k,
                                 Py_ssize_t n_blocks) noexcept nogil:
    """First row of block k of ``n_blocks`` over ``n_rows`` rows (block k ends
    where block k + 1 starts)."""
    return k * n_rows // n_blocks
