"""One fit's inputs to the kernels, checked and bound once.

A fit builds these once, and the network module (``train_epoch``,
``loss_and_gradient``) then runs them without checking again:

* ``TrainingSet``: X (dense or CSR), the targets Y and the sample weights,
  checked against a ``Layout`` (widths, rows, dtype);
* ``sgd_rule`` / ``adam_rule``: the optimizer's step rule, its
  hyperparameters and state buffers (``_optimizers.pxd`` runs it);
* ``EpochPlan``: everything a stochastic epoch reads and writes, in one
  struct (``EpochC``), with its own batch workspace;
* ``GradientPlan``: L-BFGS's full-batch loss and gradient (``GradientC``),
  with a workspace for every row.

With ``n_threads`` (``n_jobs``), a plan runs the data-parallel path: its
scratch is a ``_blocks.Blocks`` (row blocks, each with its own workspace
and gradient) instead of the whole-batch workspace.

Every argument is checked here, through ``_boundary``'s checks; the only
check left for each run is the epoch's shuffle order (the caller rewrites it
between epochs) and the parameter buffers L-BFGS passes at each evaluation.
"""

import threading

import numpy as np

from ._boundary cimport (BLAS_INT_MAX, check_length, check_rows, fill_source, float_data,
                         readonly_float_data, first_out_of_range, running_buffer,
                         sample_weights)
from ._optimizers cimport RULE_SGD, RULE_ADAM
from ._blocks cimport Blocks


cdef double* norms_data(object grad_norms, Layout layout, bint required) except? NULL:
    """Address of the per-layer gradient-norm buffer (float64, one per layer of
    weights), or NULL when None is allowed."""
    cdef double[::1] norms
    if grad_norms is None and not required:
        return NULL
    norms = grad_norms
    if norms.shape[0] != layout.c.n_layers - 1:
        raise ValueError("grad_norms needs one entry per layer of weights")
    return &norms[0]


cdef class TrainingSet:
    """X, targets Y (n_samples, n_outputs) and sample weights (or None), checked
    for ``layout``; every array has Y's float dtype. The caller must not
    change the arrays while the set lives."""

    def __cinit__(self, Layout layout, X, Y, sample_weight=None):
        if not isinstance(Y, np.ndarray):
            raise TypeError(f"Y must be a numpy array, not {type(Y).__name__}")
        if Y.ndim != 2:
            raise ValueError("Y must be a 2-D array (n_samples, n_outputs)")
        if Y.shape[1] != layout.c.units[layout.c.n_layers - 1]:
            raise ValueError(f"Y has {Y.shape[1]} columns; this network has "
                             f"{layout.c.units[layout.c.n_layers - 1]} outputs")
        self.layout = layout
        self.itemsize = Y.dtype.itemsize
        self.c.Y = readonly_float_data(Y, self.itemsize, "Y")
        self.c.n_samples = fill_source(&self.c.src, X, layout.c.units[0], self.itemsize)
        check_rows(Y.shape[0], self.c.n_samples, "Y")
        self.c.sw = sample_weights(sample_weight, self.c.n_samples, self.itemsize)
        self.arrays = (X, Y, sample_weight)

    @property
    def n_samples(self):
        return self.c.n_samples


cdef class StepRuleBox:
    """An optimizer's step rule for the kernels; made by sgd_rule or adam_rule."""


def sgd_rule(velocity, double momentum, bint nesterov):
    """SGD with (Nesterov) momentum; ``velocity`` (IN/OUT) is the parameters' size."""
    cdef StepRuleBox box = StepRuleBox()
    box.c.kind = RULE_SGD
    box.c.momentum = momentum
    box.c.nesterov = nesterov
    box.itemsize = velocity.dtype.itemsize
    box.c.state1 = float_data(velocity, box.itemsize, "velocity")
    box.length = velocity.shape[0]
    box.arrays = (velocity,)
    return box


def adam_rule(m, v, t, double beta_1, double beta_2, double epsilon):
    """Adam; the moments ``m`` and ``v`` and the step counter ``t`` (an int64
    array of one element) are updated in place, also when an epoch is
    interrupted."""
    cdef StepRuleBox box = StepRuleBox()
    cdef long long[::1] t_view = t
    if t_view.shape[0] != 1:
        raise ValueError("adam_rule: t must hold exactly one step counter")
    box.c.kind = RULE_ADAM
    box.c.beta_1 = beta_1
    box.c.beta_2 = beta_2
    box.c.epsilon = epsilon
    box.itemsize = m.dtype.itemsize
    box.c.state1 = float_data(m, box.itemsize, "Adam's m")
    box.c.state2 = float_data(v, box.itemsize, "Adam's v")
    if v.shape[0] != m.shape[0]:
        raise ValueError("adam_rule: m and v differ in length")
    box.c.t = &t_view[0]
    box.length = m.shape[0]
    box.arrays = (m, v, t)
    return box


cdef class EpochPlan:
    """Everything a stochastic epoch reads and writes, checked and bound once.

    ``params`` and ``running`` are trained in place; ``order`` is the
    permutation array the caller reshuffles in place between epochs (or None
    for storage order), checked again before each epoch; ``grad_norms``
    (float64, one per layer of weights, or None) gets each batch's per-layer
    gradient norms added. The batch workspace is allocated here, once: for
    the whole batch, or with ``n_threads`` (>= 1) the row blocks of the
    data-parallel path run on that many threads.
    """

    def __cinit__(self, Layout layout, params, running, TrainingSet data, StepRuleBox rule,
                  Py_ssize_t batch_size, double alpha, order, grad_norms, n_threads=None):
        cdef const Py_ssize_t[::1] order_view
        if data.layout is not layout:
            raise ValueError("the TrainingSet was checked for another Layout")
        self.layout = layout
        self.c.layout = &layout.c
        self.c.data = data.c
        self.c.itemsize = data.itemsize
        self.c.n_params = layout.n_params
        self.c.params = float_data(params, data.itemsize, "params")
        check_length(params.shape[0], layout.n_params, "params", "parameters")
        if rule.itemsize != data.itemsize:
            raise ValueError(f"the optimizer's state must be float{8 * data.itemsize}, "
                             f"the dtype of the other buffers")
        check_length(rule.length, layout.n_params, "the optimizer's state", "parameters")
        self.c.rule = rule.c
        self.c.running = running_buffer(running, layout.n_running, data.itemsize, True)
        if not 1 <= batch_size <= BLAS_INT_MAX:
            raise ValueError(f"batch_size is {batch_size}; it must be in [1, 2**31 - 1]")
        self.c.batch_size = batch_size
        if order is not None:
            order_view = order
            if order_view.shape[0] != data.c.n_samples:
                raise ValueError(f"order has {order_view.shape[0]} entries; it must be a "
                                 f"permutation of the {data.c.n_samples} samples")
            if data.c.n_samples:    # (not a NULL-if-else: it would drop the const)
                self.c.order = &order_view[0]
        dtype = np.float64 if data.itemsize == 8 else np.float32
        gather = data.c.src.dense != NULL and self.c.order != NULL
        grads = np.empty(layout.n_params, dtype=dtype)
        self.c.grads = float_data(grads, data.itemsize, "grads")
        if n_threads is None:
            self.ws = Workspace(layout, min(batch_size, max(data.c.n_samples, 1)), dtype,
                                gather)
            self.c.ws = &self.ws.c
        else:
            self.blocks = Blocks(layout, min(batch_size, max(data.c.n_samples, 1)), dtype,
                                 gather, n_threads, grads)
            self.c.blocks = &self.blocks.c
        self.c.alpha = alpha
        self.c.grad_norms = norms_data(grad_norms, layout, False)
        self.c.check_signals = threading.current_thread() is threading.main_thread()
        self.arrays = (params, running, data, rule, order, grads, grad_norms)

    def seed(self, seed):
        """Seed the dropout masks' stream for the next epoch."""
        (self.ws if self.blocks is None else self.blocks).seed(seed)

    cdef int check_order(self) except -1:
        """The caller reshuffles ``order`` in place between epochs: O(n) recheck."""
        cdef Py_ssize_t bad
        if self.c.order == NULL:
            return 0
        bad = first_out_of_range(self.c.order, self.c.data.n_samples, self.c.data.n_samples)
        if bad >= 0:
            raise ValueError(f"order[{bad}] = {self.c.order[bad]} is not a sample "
                             f"index in [0, {self.c.data.n_samples})")
        return 0


cdef class GradientPlan:
    """L-BFGS's objective over the whole training set, checked and bound once.

    ``running`` receives the batch-norm statistics when an evaluation asks
    for them; ``grad_norms`` (float64, one per layer of weights) is
    overwritten by each evaluation. Each evaluation passes its own parameter
    and gradient buffers, checked then (``check_params``). With ``n_threads``
    (>= 1) the evaluations run on row blocks on that many threads.
    """

    def __cinit__(self, Layout layout, TrainingSet data, running, double alpha,
                  double delta_scale, grad_norms, n_threads=None):
        cdef Py_ssize_t i
        cdef double sw_sum = 0.0
        if data.layout is not layout:
            raise ValueError("the TrainingSet was checked for another Layout")
        if data.c.n_samples < 1:
            raise ValueError("L-BFGS needs at least one row of X")
        self.layout = layout
        self.c.layout = &layout.c
        self.c.data = data.c
        self.c.itemsize = data.itemsize
        self.c.running = running_buffer(running, layout.n_running, data.itemsize, True)
        self.c.grad_norms = norms_data(grad_norms, layout, True)
        dtype = np.float64 if data.itemsize == 8 else np.float32
        if n_threads is None:
            self.ws = Workspace(layout, data.c.n_samples, dtype, False)
            self.c.ws = &self.ws.c
        else:
            self.blocks = Blocks(layout, data.c.n_samples, dtype, False, n_threads, None)
            self.c.blocks = &self.blocks.c
        self.c.alpha = alpha
        self.c.delta_scale = delta_scale
        if data.c.sw == NULL:
            sw_sum = <double> data.c.n_samples
        elif data.itemsize == 8:
            for i in range(data.c.n_samples):
                sw_sum += (<const double*> data.c.sw)[i]
        else:
            for i in range(data.c.n_samples):
                sw_sum += (<const float*> data.c.sw)[i]
        self.c.sw_sum = sw_sum
        self.arrays = (data, running, grad_norms)

    def seed(self, seed):
        """Seed the dropout masks' stream (the estimators' L-BFGS has no dropout;
        the kernel tests fix the masks this way)."""
        (self.ws if self.blocks is None else self.blocks).seed(seed)

    cdef int check_params(self, Py_ssize_t size, Py_ssize_t itemsize, str name) except -1:
        """A parameter-sized buffer of one evaluation: the layout's length and dtype."""
        if itemsize != self.c.itemsize:
            raise ValueError(f"{name} must be float{8 * self.c.itemsize}, the dtype of the "
                             f"training data")
        return check_length(size, self.layout.n_params, name, "parameters")
