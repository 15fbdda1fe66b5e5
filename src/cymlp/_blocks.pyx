"""The data-parallel path's scratch memory, allocated once per fit.

A batch of B rows is cut into ``n_blocks_for(B, largest layer)`` row blocks
of nearly equal size (a shorter batch into as many, or one per row); each
block has its own workspace (rows x units, as ``_layout.Workspace``) and its
own raw gradient, which the reduction adds in block order. The parameter buffer is cut into
chunks of ``CHUNK`` values that never straddle two weight matrices: the
reduction, the optimizer step and the sums of squares (for the loss's L2
term and the gradient norms) run chunk by chunk, and the sums are added in
chunk order. Nothing here depends on the number of threads.
"""

import numpy as np

from libc.stdlib cimport calloc, free

from ._boundary cimport float_data
from ._layout cimport Workspace


# Rows per block at least: a block's products are BLAS calls on its rows, and
# a block's weight-gradient products write every layer's whole gradient, so
# small blocks cost BLAS call overhead and reduction; 64 rows keep that within
# a few percent of one whole-batch product (32-row blocks cost 5 to 9 % on an
# AVX2 machine). A batch of 64 to 127 rows still makes two blocks of at least
# 32 rows, so that small batches use two cores. Above LARGE_LAYER weights in
# a layer, 100 rows.
MIN_ROWS = 64
MIN_ROWS_PAIR = 32
MIN_ROWS_LARGE = 100
LARGE_LAYER = 1 << 17       # weights of one layer (1 MiB in float64)


def n_blocks_for(Py_ssize_t batch_size, Py_ssize_t largest_layer=0):
    """Row blocks of a batch of ``batch_size`` rows, for a network whose largest
    layer has ``largest_layer`` weights: the largest power of two, at most 64,
    that leaves every block at least 64 rows (100 rows above 131072 weights),
    and two blocks for 64 to 127 rows in a network without such a layer.
    It never depends on the number of threads."""
    cdef Py_ssize_t k = 1
    cdef bint large = largest_layer > LARGE_LAYER
    cdef Py_ssize_t min_rows = MIN_ROWS_LARGE if large else MIN_ROWS
    while 2 * k <= MAX_BLOCKS and 2 * k * min_rows <= batch_size:
        k *= 2
    if k == 1 and not large and batch_size >= 2 * MIN_ROWS_PAIR:
        k = 2
    return k


cdef class Blocks:
    """Scratch of the data-parallel path for batches of up to ``batch_size`` rows.

    ``grads`` is the buffer that receives each batch's finished gradient (it
    is block 0's raw gradient too); None for L-BFGS, whose evaluations each
    bring their own (the network module sets it then). ``gather_x``: each block gathers its
    dense rows of X (shuffled batches).
    """

    def __cinit__(self, Layout layout, Py_ssize_t batch_size, dtype, bint gather_x,
                  int n_threads, grads):
        cdef Py_ssize_t k, l, start, size
        cdef Workspace ws
        if n_threads < 1:
            raise ValueError(f"n_threads is {n_threads}; it must be >= 1")
        self.layout = layout
        largest = max(layout.c.units[l] * layout.c.units[l + 1]
                      for l in range(layout.c.n_layers - 1))
        self.c.n_blocks = n_blocks_for(max(batch_size, 1), largest)
        self.capacity = (max(batch_size, 1) + self.c.n_blocks - 1) // self.c.n_blocks
        self.workspaces = [Workspace(layout, self.capacity, dtype, gather_x)
                           for k in range(self.c.n_blocks)]
        dtype = np.dtype(dtype)
        starts, firsts = [], []
        for l in range(layout.c.n_layers - 1):
            firsts.append(len(starts))
            size = layout.c.units[l] * layout.c.units[l + 1]
            for start in range(0, size, CHUNK):
                starts.append(layout.c.coef_off[l] + start)
        firsts.append(len(starts))
        for start in range(layout.n_coef, layout.n_params, CHUNK):
            starts.append(start)
        self.c.n_chunks = len(starts)
        # more threads would find neither a block nor a chunk to work on
        self.c.n_threads = min(n_threads, max(self.c.n_blocks, self.c.n_chunks))
        starts.append(layout.n_params)
        chunk_start = np.array(starts, dtype=np.intp)
        layer_chunks = np.array(firsts, dtype=np.intp)
        sums = np.zeros((2, max(self.c.n_chunks, 1)))
        loss = np.zeros(self.c.n_blocks)
        partial = np.zeros(self.c.n_blocks * 2 * layout.c.width, dtype=dtype)
        block_grads = [np.zeros(layout.n_params, dtype=dtype)
                       for k in range(1, self.c.n_blocks)]
        self.arrays = (chunk_start, layer_chunks, sums, loss, partial, block_grads)
        self.c.ws = <WorkC**> calloc(self.c.n_blocks, sizeof(WorkC*))
        self.c.grads = <void**> calloc(self.c.n_blocks, sizeof(void*))
        if self.c.ws == NULL or self.c.grads == NULL:
            raise MemoryError()
        for k in range(self.c.n_blocks):
            ws = self.workspaces[k]
            self.c.ws[k] = &ws.c
        for k in range(1, self.c.n_blocks):
            self.c.grads[k] = float_data(block_grads[k - 1], dtype.itemsize, "a block's gradient")
        if grads is not None:
            self.set_gradient(grads)
        cdef Py_ssize_t[::1] starts_view = chunk_start
        cdef Py_ssize_t[::1] firsts_view = layer_chunks
        cdef double[:, ::1] sums_view = sums
        cdef double[::1] loss_view = loss
        self.c.chunk_start = &starts_view[0]
        self.c.layer_chunks = &firsts_view[0]
        self.c.chunk_wsq = &sums_view[0, 0]
        self.c.chunk_gsq = &sums_view[1, 0]
        self.c.loss = &loss_view[0]
        self.c.partial = float_data(partial, dtype.itemsize, "the blocks' partial sums")

    cdef int set_gradient(self, object grads) except -1:
        """Make ``grads`` (checked by the caller: the layout's length and dtype)
        the buffer of the finished gradient."""
        self.c.grads[0] = float_data(grads, grads.dtype.itemsize, "grads")
        return 0

    def __dealloc__(self):
        free(self.c.ws)
        free(self.c.grads)

    @property
    def n_blocks(self):
        return self.c.n_blocks

    @property
    def n_threads(self):
        return self.c.n_threads

    def seed(self, seed):
        """Seed the dropout masks' stream."""
        self.c.rng = <uint64_t> (int(seed) & 0xFFFFFFFFFFFFFFFF)
