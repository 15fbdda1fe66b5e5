# One fit's inputs to the kernels, checked and bound once: the training data,
# the optimizer's step rule, and everything an epoch (or an L-BFGS
# evaluation) reads and writes, each in one struct the network module runs.

from ._boundary cimport Source
from ._layout cimport LayoutC, WorkC, Layout, Workspace
from ._optimizers cimport StepRule
from ._blocks cimport BlocksC, Blocks


cdef struct DataC:
    # The training set: X, targets and sample weights, one row per sample.
    Source src               # X: dense rows or CSR rows
    const void* Y            # (n_samples, n_outputs)
    const void* sw           # (n_samples,), or NULL (all weights 1)
    Py_ssize_t n_samples


cdef struct EpochC:
    # A stochastic epoch: batches of ``batch_size`` rows in ``order``, each
    # forward, backward and one optimizer step on ``params``.
    const LayoutC* layout
    WorkC* ws                # scratch for one batch
    DataC data
    const Py_ssize_t* order  # the epoch's permutation, or NULL: storage order
    Py_ssize_t batch_size
    Py_ssize_t n_params
    Py_ssize_t itemsize      # 4 or 8: the dtype of every float buffer
    void* params             # IN/OUT: the flat parameter buffer
    void* grads              # scratch: one batch's gradient
    void* running            # IN/OUT: batch-norm running statistics, or NULL
    double alpha             # L2 penalty
    StepRule rule            # the optimizer: kind, hyperparameters, state
    double* grad_norms       # IN/OUT: per-layer sums of gradient norms, or NULL
    bint check_signals       # the main thread: check for Ctrl-C after each batch
    BlocksC* blocks          # the data-parallel path (n_jobs), or NULL: whole batches


cdef struct GradientC:
    # L-BFGS's objective: the loss and gradient over the whole training set.
    const LayoutC* layout
    WorkC* ws                # scratch for every row
    DataC data
    double sw_sum            # sum of the sample weights (n_samples without them)
    Py_ssize_t itemsize
    double alpha
    double delta_scale       # multiplies the output delta
    void* running            # OUT (with running_momentum > 0): batch-norm statistics
    double* grad_norms       # OUT: each layer's weight-gradient norm
    BlocksC* blocks          # the data-parallel path (n_jobs), or NULL: every row at once


cdef class TrainingSet:
    cdef DataC c
    cdef readonly Layout layout
    cdef readonly Py_ssize_t itemsize
    cdef tuple arrays


cdef class StepRuleBox:
    cdef StepRule c
    cdef Py_ssize_t length, itemsize
    cdef tuple arrays


cdef class EpochPlan:
    cdef EpochC c
    cdef readonly Layout layout
    cdef Workspace ws
    cdef readonly Blocks blocks
    cdef tuple arrays
    cdef int check_order(self) except -1


cdef class GradientPlan:
    cdef GradientC c
    cdef readonly Layout layout
    cdef Workspace ws
    cdef readonly Blocks blocks
    cdef tuple arrays
    cdef int check_params(self, Py_ssize_t size, Py_ssize_t itemsize, str name) except -1
