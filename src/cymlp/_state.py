"""The network state: what one fitted network is, and the only code that holds its buffers.

``NetworkState`` owns the network's shape and settings (units, per-layer
config, output head), its ONE flat parameter buffer (weights, biases, PReLU
slopes, batch-norm scale and shift, laid out by ``_layout.Layout``), its
batch-norm running statistics, and the copies of both that early stopping
keeps of the best epoch. Everything that reads or writes those buffers goes
through its methods: the estimator binds its fitted arrays (``coefs_``,
``intercepts_``, ...) to the state's views, the solvers ask it for checked
plans (``epoch_plan``, ``gradient_plan``) that the kernels train in place,
the fit transaction takes a ``snapshot`` and ``restore``s it, and pickling
writes ``to_attributes`` and reads ``from_attributes``.

The saved form is the one cymlp 0.1.0 wrote (``_params_flat``,
``_running_flat``, ``_best_params``, ``_best_running``, ``_units``,
``_config``: plain arrays, lists and dicts), so older models load and a
saved model holds no cymlp type but the estimator.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import InconsistentVersionWarning as _SklearnVersionWarning

from . import _dispatch, _layout, _losses, _plans

# The loss head of each output activation (see _losses.pyx).
HEADS = {"identity": "squared_error", "logistic": "binary_log_loss",
         "softmax": "log_loss", "exp": "poisson"}
# Regression losses on the identity output that are not its canonical loss.
IDENTITY_LOSSES = ("absolute_error", "quantile")
# The estimator attributes that are views of the state's buffers.
VIEW_ATTRIBUTES = (
    "coefs_", "intercepts_", "prelu_slopes_", "batch_norm_scale_", "batch_norm_shift_",
    "batch_norm_running_mean_", "batch_norm_running_var_",
)
SAVED_ATTRIBUTES = ("_params_flat", "_running_flat", "_best_params", "_best_running",
                    "_units", "_config")
# Predictions with n_jobs run on threads above this many rows (one chunk of
# _network's predict is 256 rows).
PARALLEL_ROWS = 512


class InconsistentVersionWarning(_SklearnVersionWarning):
    """Warning raised when a model saved by another version of cymlp is loaded.

    Loading (with pickle, joblib or skops) a model that another cymlp version
    saved warns with this class. cymlp checks that models saved by earlier
    versions load, predict the same and keep training; the warning asks you
    to check the results all the same. It is a subclass of scikit-learn's
    ``InconsistentVersionWarning``, so that a warnings filter written for
    scikit-learn's models applies to cymlp's too.

    Parameters
    ----------
    estimator_name : str
        The estimator's class name.
    current_sklearn_version : str
        The cymlp version loading the model (scikit-learn's parameter name).
    original_sklearn_version : str
        The cymlp version that saved it (scikit-learn's parameter name).
    """

    def __str__(self):
        return (
            f"Trying to unpickle estimator {self.estimator_name} from cymlp version "
            f"{self.original_sklearn_version} when using cymlp version "
            f"{self.current_sklearn_version}. The model predicts as it did (the saved "
            "format is checked against earlier versions), but check its results."
        )


def kernel_input(X, dtype):
    """X as the kernels read it: C-contiguous dense, or a CSR (data, indices, indptr).

    Casting float64 data for a float32 model must not turn values beyond
    float32's range into inf: that is a ValueError.
    """
    if type(X) is np.ndarray and X.dtype == dtype and X.flags.c_contiguous:
        return X                        # as it is (a one-row predict's common case)
    with np.errstate(over="ignore"):   # an overflow is refused below, by name
        if sp.issparse(X):
            X = X.tocsr()
            if X.nnz >= np.iinfo(np.int32).max or X.shape[1] >= np.iinfo(np.int32).max:
                raise ValueError("sparse X is too large: cymlp needs 32-bit sparse indices")
            data = np.ascontiguousarray(X.data, dtype=dtype)
            converted = (data, np.ascontiguousarray(X.indices, dtype=np.int32),
                         np.ascontiguousarray(X.indptr, dtype=np.int32))
        else:
            data = converted = np.ascontiguousarray(X, dtype=dtype)
    if data.dtype != (X.data if sp.issparse(X) else X).dtype and not np.isfinite(data).all():
        raise ValueError(
            "Input X has values beyond the range of float32, the dtype this model "
            "was fitted in; scale X or fit the model on float64 data."
        )
    return converted


def head_for(out_activation, loss, quantile=0.5, resuming=False):
    """(head, quantile): the loss head of a network with output activation
    ``out_activation`` trained on ``loss`` (the estimator's parameters).

    The output activation picks the head (squared error, log-losses,
    Poisson), except that an identity output may instead train the
    absolute-error or quantile loss. A model saved before those losses
    existed gets the head it had. Resuming the training of a network whose
    output is not the identity with one of those losses is a ValueError.
    """
    if loss in IDENTITY_LOSSES and (out_activation == "identity" or resuming):
        if out_activation != "identity":
            raise ValueError(
                f"Cannot resume training with loss={loss!r}: the fitted network has the "
                f"output activation {out_activation!r}, and {loss!r} needs 'identity'. "
                "Set warm_start=False (or call fit) to train a new network."
            )
        return loss, float(quantile) if loss == "quantile" else 0.5
    return HEADS[out_activation], 0.5


def make_layout(units, config, head, quantile=0.5):
    """The kernels' ``Layout`` of a network."""
    return _layout.Layout(units, config["activations"], head, config["negative_slope"],
                          config["dropout"], config["batch_norm"], quantile)


class NetworkState:
    """One network: shape, settings, flat parameters and running statistics.

    Parameters
    ----------
    units : list of int
        Units per layer, input and output included.
    config : dict
        Per hidden layer: ``activations``, ``dropout``, ``batch_norm``; and
        ``negative_slope``.
    head : str
        The output activation and loss, a key of ``_losses.HEAD_CODES``.
    params, running : ndarray
        The flat parameter buffer and the running statistics (owned from now on).
    best : tuple of ndarray, optional
        Early stopping's copies of (params, running); new copies if None.
    layout : _layout.Layout, optional
        The kernels' layout of this network, if already made.
    quantile : float, default=0.5
        The quantile of the 'quantile' head (unused by the others).
    """

    def __init__(self, units, config, head, params, running, best=None, layout=None,
                 quantile=0.5):
        self.units = list(units)
        self.config = config
        self.head = head
        self.quantile = quantile
        self.layout = make_layout(units, config, head, quantile) if layout is None else layout
        self._params = params
        self._running = running
        self._best = (params.copy(), running.copy()) if best is None else best

    @classmethod
    def new(cls, units, config, head, coefs, intercepts, dtype, quantile=0.5):
        """A network with the given weights and biases (any array-likes of the
        right shapes) and its extras at their initial values."""
        layout = make_layout(units, config, head, quantile)
        params = np.empty(layout.n_params, dtype=dtype)
        running = np.empty(layout.n_running, dtype=dtype)
        views = layout.views(params)
        for target, source in zip(views[0] + views[1], list(coefs) + list(intercepts)):
            target[...] = source
        layout.init_extras(params, running)
        return cls(units, config, head, params, running, layout=layout, quantile=quantile)

    # ------------------------------------------------------------------
    # What the estimator shows, and what it saves
    # ------------------------------------------------------------------

    @property
    def dtype(self):
        return self._params.dtype

    @property
    def activations(self):
        """The hidden layers' activation names, nearest the input first."""
        return list(self.config["activations"])

    @property
    def negative_slope(self):
        """The slope of 'leaky_relu' below 0."""
        return self.config["negative_slope"]

    def views(self):
        """{estimator attribute: views of the buffers} (``VIEW_ATTRIBUTES``)."""
        coefs, intercepts = self.layout.views(self._params)
        slopes, scales, shifts = self.layout.extra_views(self._params)
        means, variances = self.layout.running_views(self._running)
        return dict(zip(VIEW_ATTRIBUTES, (coefs, intercepts, slopes, scales, shifts, means,
                                          variances)))

    def owns(self, arrays):
        """Whether every array is a view of the parameters or the running statistics."""
        return all(a.base is self._params or a.base is self._running for a in arrays)

    def adopt(self, coefs, intercepts):
        """Make ``coefs`` and ``intercepts`` the weights (a user may have replaced
        the fitted arrays): repack them into a new buffer, the extras kept."""
        packed = self._params.copy()
        views = self.layout.views(packed)
        for target, source in zip(views[0] + views[1], list(coefs) + list(intercepts)):
            target[...] = source
        self._params = packed

    def to_attributes(self):
        """The saved form (``SAVED_ATTRIBUTES``): plain arrays, lists and a dict."""
        return {"_params_flat": self._params, "_running_flat": self._running,
                "_best_params": self._best[0], "_best_running": self._best[1],
                "_units": self.units, "_config": self.config}

    @classmethod
    def from_attributes(cls, attributes, head, quantile=0.5):
        """The state saved by ``to_attributes`` (by any cymlp version)."""
        def owned(array):
            # Unpickled arrays may borrow the pickle's memory (protocol 5) or be
            # memory maps (joblib.load(mmap_mode=...)): own a plain array, so
            # that the views' base is the buffer itself.
            if type(array) is not np.ndarray or array.base is not None:
                return np.array(array)
            return array

        params, running = owned(attributes["_params_flat"]), owned(attributes["_running_flat"])
        best = None
        if "_best_params" in attributes:
            best = (owned(attributes["_best_params"]), owned(attributes["_best_running"]))
        return cls(attributes["_units"], attributes["_config"], head, params, running, best,
                   quantile=quantile)

    def with_params(self, params=None):
        """A copy of this network, at ``params`` if given (copied into its dtype)."""
        params = self._params if params is None else params
        return NetworkState(self.units, self.config, self.head,
                            np.array(params, dtype=self.dtype), self._running.copy(),
                            (self._best[0].copy(), self._best[1].copy()), self.layout,
                            self.quantile)

    # ------------------------------------------------------------------
    # The fit transaction and early stopping
    # ------------------------------------------------------------------

    def snapshot(self):
        """Copies of everything a fit changes in place, for ``restore``."""
        return (self._params, self._params.copy(), self._running.copy(),
                self._best[0].copy(), self._best[1].copy())

    def restore(self, snapshot):
        """Put back, in place, what ``snapshot`` copied (the same buffers, so the
        arrays a user holds stay the model's)."""
        params, saved_params, running, best_params, best_running = snapshot
        self._params = params
        params[...] = saved_params
        self._running[...] = running
        self._best[0][...] = best_params
        self._best[1][...] = best_running

    def save_best(self):
        """Remember the current parameters and statistics as the best ones."""
        self._best[0][...] = self._params
        self._best[1][...] = self._running

    def restore_best(self):
        """Go back to the parameters and statistics ``save_best`` remembered."""
        self._params[...] = self._best[0]
        self._running[...] = self._best[1]

    def set_params(self, values):
        """Write ``values`` (any float dtype) into the parameter buffer."""
        self._params[...] = values

    def params_copy(self, dtype=None):
        """A copy of the flat parameters (of ``dtype``, default the state's)."""
        return self._params.astype(self.dtype if dtype is None else dtype)

    def running_copy(self):
        """A copy of the batch-norm running statistics (empty without batch norm)."""
        return self._running.copy()

    def loss_type(self):
        """The scalar type scikit-learn gives this network's loss (``loss_``, the
        loss curve): np.float64, except a softmax head's, whose log_loss calls
        scipy's xlogy on bool targets and the model's dtype and then adds Python
        floats (the penalty): float32 for a float32 model only where scipy
        (>= 1.18) keeps xlogy in float32 and NumPy (>= 2, NEP 50) keeps a
        float32 plus a Python float in float32; float64 otherwise."""
        if self.head != "log_loss":
            return np.float64
        from scipy.special import xlogy

        return type(xlogy(np.True_, self.dtype.type(0.5)) + 0.5)

    def is_finite(self):
        return bool(np.isfinite(self._params).all())

    def check_resumable(self, units, config, head, quantile=0.5):
        """Refuse to resume training on data or settings the network does not fit.

        Returns the state to train on: this one, or a copy with the new
        ``dropout``, ``negative_slope`` or loss head (``head_for``; all may
        change between calls).
        """
        if list(units) != self.units:
            raise ValueError(
                "Cannot resume training: the fitted network has layer sizes "
                f"{self.units}, but hidden_layer_sizes and the data give {units}. "
                "Set warm_start=False (or call fit) to train a new network."
            )
        for key in ("activations", "batch_norm"):
            if config[key] != self.config[key]:
                raise ValueError(
                    f"Cannot resume training: the fitted network has {key} "
                    f"{self.config[key]}, the parameters now give {config[key]}."
                )
        if config == self.config and (head, quantile) == (self.head, self.quantile):
            return self
        return NetworkState(self.units, config, head, self._params, self._running,
                            self._best, quantile=quantile)

    # ------------------------------------------------------------------
    # The kernels
    # ------------------------------------------------------------------

    def kernel_input(self, X):
        """X in the state's dtype, as the kernels read it (see ``kernel_input``)."""
        return kernel_input(X, self.dtype)

    def predict(self, X, n_jobs=None):
        """Output-layer values (probabilities or predictions) for validated X;
        with ``n_jobs`` (not None) and many rows, in row chunks on threads."""
        if n_jobs is None or X.shape[0] <= PARALLEL_ROWS:   # (a one-row predict: no
            return _dispatch.network.predict(                # import, no context manager)
                self.layout, self._params, self.kernel_input(X), self._running, 0)
        from ._threads import effective_n_threads, single_threaded_blas

        n_threads = effective_n_threads(n_jobs)
        with single_threaded_blas():
            return _dispatch.network.predict(self.layout, self._params, self.kernel_input(X),
                                             self._running, n_threads)

    def forward_all(self, X):
        """Every layer's outputs for validated X: hidden layers, then output."""
        return _dispatch.network.forward_all(self.layout, self._params,
                                             self.kernel_input(X), self._running)

    def loss(self, X, Y, sample_weight=None):
        """The training loss of validated X against targets Y (n_samples,
        n_outputs), weighted, without the L2 term: the loss kernel's, on the
        outputs of ``predict`` (batch norm's running statistics, no dropout)."""
        Y = np.ascontiguousarray(Y, dtype=self.dtype)
        if sample_weight is not None:
            sample_weight = np.ascontiguousarray(sample_weight, dtype=self.dtype)
        total = _losses.weighted_loss(self.head, self.predict(X), Y, sample_weight,
                                      self.quantile)
        weight = Y.shape[0] if sample_weight is None else sample_weight.sum(dtype=np.float64)
        return total / weight

    def training_set(self, X, y, sample_weight):
        """X, y and sample weights checked for the kernels, in the state's dtype."""
        Y = np.ascontiguousarray(y, dtype=self.dtype)
        if sample_weight is not None:
            sample_weight = np.ascontiguousarray(sample_weight, dtype=self.dtype)
        return _plans.TrainingSet(self.layout, self.kernel_input(X), Y, sample_weight)

    def epoch_plan(self, data, optimizer, batch_size, alpha, order, grad_norms,
                   n_threads=None):
        """An ``EpochPlan`` that trains this state's buffers in place (on row
        blocks on ``n_threads`` threads, if given)."""
        return _plans.EpochPlan(self.layout, self._params, self._running, data,
                                optimizer.step_rule(), batch_size, alpha, order, grad_norms,
                                n_threads)

    def gradient_plan(self, data, alpha, delta_scale, grad_norms, n_threads=None):
        """A ``GradientPlan`` whose evaluations update this state's running
        statistics (on row blocks on ``n_threads`` threads, if given)."""
        return _plans.GradientPlan(self.layout, data, self._running, alpha, delta_scale,
                                   grad_norms, n_threads)

    def loss_and_gradient(self, plan, x, grads, running_momentum=0.0):
        """L-BFGS's objective at ``x`` (float64): the loss, gradient in ``grads``.

        A float64 network evaluates at ``x`` itself; a float32 one at ``x``
        rounded into its own buffer.
        """
        if self.dtype == np.float64:
            return _dispatch.network.loss_and_gradient(plan, x, grads, running_momentum)
        self._params[...] = x
        return _dispatch.network.loss_and_gradient(plan, self._params, grads,
                                                   running_momentum)
