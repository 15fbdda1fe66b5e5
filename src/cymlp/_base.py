# Follows scikit-learn's sklearn/neural_network/_multilayer_perceptron.py
# (the solver loop, early stopping, validation);
# its notice is kept, as its license requires:
# Authors: The scikit-learn developers
# SPDX-License-Identifier: BSD-3-Clause
# (full text, and cymlp's own notice, in LICENSE)
"""BaseMLP: what both estimators share around the Cython kernels.

Validation, the random stream (in scikit-learn's order), solver choice, early
stopping, warm start and partial_fit, the verbose lines and the end-of-epoch
bookkeeping. It never loops over samples or batches: one ``run_epoch`` call
per epoch trains in C without the GIL.

A resumed fit (warm start, partial_fit) trains the live parameter buffer in
place, as scikit-learn does, so arrays a user holds (``est.coefs_[0]``) see
the new weights. Each fit first backs up what it will change in place (the
buffers, the curves it extends) and restores it if the fit raises, so a
diverging fit never leaves a half-written model behind. The exception is
early stopping: as in scikit-learn, a fit whose loss diverges then ends with
the best weights it saw, and NaN validation scores for the diverged epochs.
"""

import copy
import math
import warnings
from abc import ABC, abstractmethod

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from sklearn import get_config
from sklearn.base import BaseEstimator, is_classifier
from sklearn.callback import CallbackSupportMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.fixes import _get_additional_lbfgs_options_dict
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _layout
from ._dispatch import network as _network
from ._callbacks import FitCallbacks
from ._shuffle import shuffler_for
from ._optim import make_optimizer
from ._params import (
    PARAMETER_CONSTRAINTS,
    dropout_list,
    hidden_activation_list,
    hidden_layer_list,
    initial_weights,
)

_STOCHASTIC_SOLVERS = ("sgd", "adam")
_FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))
_HEADS = {"identity": "squared_error", "logistic": "binary_log_loss",
          "softmax": "log_loss", "exp": "poisson"}
_NON_FINITE = (
    "Solver produced non-finite parameter weights. The input data may contain "
    "large values and need to be preprocessed."
)


def kernel_input(X, dtype):
    """X as the kernels read it: C-contiguous dense, or a CSR (data, indices, indptr).

    Casting float64 data for a float32 model must not turn values beyond
    float32's range into inf: that is a ValueError.
    """
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


class BaseMLP(CallbackSupportMixin, BaseEstimator, ABC):
    """Base class of MLPClassifier and MLPRegressor; do not use directly."""

    _parameter_constraints: dict = dict(PARAMETER_CONSTRAINTS)

    @abstractmethod
    def __init__(
        self, hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate,
        learning_rate_init, power_t, max_iter, loss, shuffle, random_state, tol,
        verbose, warm_start, momentum, nesterovs_momentum, early_stopping,
        validation_fraction, beta_1, beta_2, epsilon, n_iter_no_change, max_fun,
        negative_slope, dropout, batch_norm, weight_init,
    ):
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.negative_slope = negative_slope
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.weight_init = weight_init

    # ------------------------------------------------------------------
    # The network: layout and the flat parameter buffer
    # ------------------------------------------------------------------

    def _network_config(self, n_hidden):
        """Per-hidden-layer settings from the constructor parameters, validated."""
        return {
            "activations": hidden_activation_list(self.activation, n_hidden),
            "dropout": dropout_list(self.dropout, n_hidden),
            "batch_norm": [bool(self.batch_norm)] * n_hidden,
            "negative_slope": float(self.negative_slope),
        }

    def _layout(self):
        """The kernels' Layout of the fitted network (cached, not pickled)."""
        layout = self.__dict__.get("_layout_cache")
        if layout is None:
            config = self._config
            layout = _layout.Layout(
                self._units, config["activations"], _HEADS[self.out_activation_],
                config["negative_slope"], config["dropout"], config["batch_norm"],
            )
            self._layout_cache = layout
        return layout

    def _bind_params(self, params, running):
        """Make ``params`` the flat buffer; the fitted arrays become its views."""
        layout = self._layout()
        self._params_flat = params
        self._running_flat = running
        self.coefs_, self.intercepts_ = layout.views(params)
        slopes, scales, shifts = layout.extra_views(params)
        means, variances = layout.running_views(running)
        self.prelu_slopes_ = slopes
        self.batch_norm_scale_ = scales
        self.batch_norm_shift_ = shifts
        self.batch_norm_running_mean_ = means
        self.batch_norm_running_var_ = variances

    def _current_params(self):
        """The flat buffer, repacked first if coefs_/intercepts_ were replaced."""
        flat = self._params_flat
        arrays = list(self.coefs_) + list(self.intercepts_)
        if all(a.base is flat for a in arrays):
            return flat
        packed = flat.copy()
        coefs, intercepts = self._layout().views(packed)
        for target, source in zip(coefs + intercepts, arrays):
            target[...] = source
        self._bind_params(packed, self._running_flat)
        return packed

    def __getstate__(self):
        state = dict(super().__getstate__())
        if "_params_flat" in state:
            state["_params_flat"] = self._current_params()
            for name in _VIEW_ATTRIBUTES:
                state.pop(name, None)
        state.pop("_layout_cache", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "_params_flat" in self.__dict__:
            self._layout_cache = None
            # Unpickled arrays may borrow the pickle's memory (protocol 5): own
            # it, so that the views' base is the buffer itself.
            params, running = self._params_flat, self._running_flat
            # also memory maps (joblib.load(mmap_mode=...)): a plain array
            if type(params) is not np.ndarray or params.base is not None:
                params = np.array(params)
            if type(running) is not np.ndarray or running.base is not None:
                running = np.array(running)
            self._bind_params(params, running)

    # ------------------------------------------------------------------
    # Forward passes for prediction
    # ------------------------------------------------------------------

    def _check_fitted(self):
        """check_is_fitted, without its scan of every attribute when fitted."""
        if "_params_flat" not in self.__dict__:
            check_is_fitted(self, "_params_flat")

    def _validate_X_predict(self, X):
        """X checked as scikit-learn checks it; plain float arrays take a fast path.

        A C-ordered float ndarray of the right width, finite, for a model fitted
        without feature names, is already what validate_data would return; it
        skips validate_data's dataframe detection (tens of microseconds, most of
        a one-row prediction). Anything else, errors included, goes through
        validate_data.
        """
        if (
            type(X) is np.ndarray
            and X.ndim == 2
            and X.dtype in _FLOAT_DTYPES
            and X.shape[0] > 0
            and X.shape[1] == self.n_features_in_
            and "feature_names_in_" not in self.__dict__
            and (get_config()["assume_finite"] or np.isfinite(X).all())
        ):
            return X
        return validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)

    def _forward_pass_fast(self, X, check_input=True, params=None):
        """Output-layer values (probabilities or predictions) for X."""
        if check_input:
            X = self._validate_X_predict(X)
        if params is None:
            params = self._current_params()
        return _network.predict(
            self._layout(), params, kernel_input(X, params.dtype), self._running_flat,
        )

    def hidden_activations(self, X):
        """Compute the output of every hidden layer for X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        activations : list of ndarray
            One array of shape (n_samples, n_units) per hidden layer, nearest
            the input first. Empty with no hidden layer.
        """
        self._check_fitted()
        X = self._validate_X_predict(X)
        params = self._current_params()
        layers = _network.forward_all(
            self._layout(), params, kernel_input(X, params.dtype), self._running_flat,
        )
        return layers[:-1]

    # ------------------------------------------------------------------
    # Fitting
    # ------------------------------------------------------------------

    def _fit(self, X, y, sample_weight=None, incremental=False, prepare=None):
        """Fit inside a transaction: if anything raises, the estimator is restored.

        ``prepare`` (optional) runs first, inside the transaction (the
        classifier's first ``partial_fit`` call sets its classes there).
        """
        callbacks = None
        if getattr(self, "_skl_callbacks", None):
            # One subtask per epoch (per L-BFGS iteration, plus the one left
            # open when scipy stops, as in scikit-learn's LogisticRegression).
            n_tasks = 1 if incremental else self.max_iter + (self.solver == "lbfgs")
            callbacks = FitCallbacks(self._init_callback_context(max_subtasks=n_tasks),
                                   self, X, y, sample_weight)
        snapshot = dict(self.__dict__)
        backup = _InPlaceBackup(self)
        try:
            if prepare is not None:
                prepare()
            self._fit_unsafe(X, y, sample_weight, incremental, callbacks)
        except BaseException:
            backup.restore()
            self.__dict__.clear()
            self.__dict__.update(snapshot)
            raise
        if callbacks is not None:
            callbacks.end_fit()
        return self

    def _fit_unsafe(self, X, y, sample_weight, incremental, callbacks):
        hidden_layer_sizes = hidden_layer_list(self.hidden_layer_sizes)
        first_pass = not hasattr(self, "coefs_") or (
            not self.warm_start and not incremental
        )
        config = self._network_config(len(hidden_layer_sizes))
        if self.solver == "lbfgs" and any(config["dropout"]):
            raise ValueError(
                "dropout needs a stochastic solver ('sgd' or 'adam'); "
                f"got dropout={self.dropout!r} with solver='lbfgs'."
            )
        X, y, class_weights = self._validate_input(X, y, incremental, reset=first_pass)
        if sample_weight is not None or class_weights is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
            if class_weights is not None:
                sample_weight = _check_sample_weight(sample_weight * class_weights, X)
            if not sample_weight.sum() > 0:
                raise ValueError(
                    "The sample weights (times the class weights) must have a "
                    f"positive sum, got {sample_weight.sum()}."
                )
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        n_samples, n_features = X.shape
        n_outputs = y.shape[1]
        units = [n_features] + hidden_layer_sizes + [n_outputs]

        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(y, units, X.dtype, config)
        elif "_params_flat" not in self.__dict__:
            # coefs_ and intercepts_ set by hand: scikit-learn trains on from them
            self._initialize(y, units, X.dtype, config, self._hand_set_weights(units))
        else:
            self._check_resumable(units, config)
            self._current_params()  # trained in place from here on
        dtype = self._params_flat.dtype
        if X.dtype != dtype:
            X = X.astype(dtype)
        if sample_weight is not None:
            sample_weight = sample_weight.astype(dtype, copy=False)

        if callbacks is not None:
            callbacks.begin_fit()
        if self.solver in _STOCHASTIC_SOLVERS:
            self._fit_stochastic(X, y, sample_weight, incremental, callbacks)
        else:
            self._fit_lbfgs(X, y, sample_weight, callbacks)

        self._check_finite_result(X)
        return self

    def _check_finite_result(self, X):
        """A fit must end with finite weights, a finite loss and finite outputs.

        The output check runs one batch of training rows through the final
        weights: weights that are finite but overflow the output fail here.
        """
        if not np.isfinite(self._params_flat).all():
            raise ValueError(_NON_FINITE)
        # Early stopping ends with its best weights even after the loss diverged
        finite_loss_needed = not (self.early_stopping and self.solver in _STOCHASTIC_SOLVERS)
        if finite_loss_needed and not math.isfinite(getattr(self, "loss_", 0.0)):
            raise ValueError(
                f"The fit ended with a non-finite loss ({self.loss_}). The input data "
                "may contain large values and need to be preprocessed."
            )
        if X.shape[0] and not np.isfinite(self._forward_pass_fast(X[:200], False)).all():
            raise ValueError(
                "The fitted weights give non-finite outputs. The input data may "
                "contain large values and need to be preprocessed."
            )

    def _hand_set_weights(self, units):
        """(coefs, intercepts) a user assigned, if they fit the network ``units``."""
        coefs, intercepts = list(self.coefs_), list(getattr(self, "intercepts_", []))
        pairs = list(zip(units[:-1], units[1:]))
        if ([np.shape(c) for c in coefs] != pairs
                or [np.shape(b) for b in intercepts] != [(n,) for _, n in pairs]):
            raise ValueError(
                "Cannot train on from the coefs_ and intercepts_ set on this unfitted "
                f"estimator: their shapes {[np.shape(c) for c in coefs]} and "
                f"{[np.shape(b) for b in intercepts]} do not fit the layer sizes "
                f"{units} of hidden_layer_sizes and the data."
            )
        return coefs, intercepts

    def _initialize(self, y, units, dtype, config, weights=None):
        """Fresh network: output activation; the weights drawn as scikit-learn
        draws them, or the given (coefs, intercepts)."""
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(units)
        self._units = list(units)
        self._config = config
        if not is_classifier(self):
            self.out_activation_ = "exp" if self.loss == "poisson" else "identity"
        elif self._label_binarizer.y_type_ == "multiclass":
            self.out_activation_ = "softmax"
        else:
            self.out_activation_ = "logistic"
        self._layout_cache = None
        layout = self._layout()
        coefs, intercepts = weights or initial_weights(
            self._random_state, self.weight_init, config["activations"], units,
            self.activation,
        )
        params = np.empty(layout.n_params, dtype=dtype)
        running = np.empty(layout.n_running, dtype=dtype)
        views = layout.views(params)
        for target, source in zip(views[0] + views[1], coefs + intercepts):
            target[...] = source
        layout.init_extras(params, running)
        self._bind_params(params, running)
        self._best_params = params.copy()
        self._best_running = running.copy()
        self.gradient_norms_ = np.empty((0, self.n_layers_ - 1))
        if self.solver in _STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    def _check_resumable(self, units, config):
        """warm_start and partial_fit need the network they resume to fit the data."""
        if list(units) != list(self._units):
            raise ValueError(
                "Cannot resume training: the fitted network has layer sizes "
                f"{self._units}, but hidden_layer_sizes and the data give {units}. "
                "Set warm_start=False (or call fit) to train a new network."
            )
        for key in ("activations", "batch_norm"):
            if config[key] != self._config[key]:
                raise ValueError(
                    f"Cannot resume training: the fitted network has {key} "
                    f"{self._config[key]}, the parameters now give {config[key]}."
                )
        if config != self._config:
            self._config = config  # dropout or negative_slope changed
            self._layout_cache = None

    def _loss_type(self):
        """The scalar type of scikit-learn's ``loss_`` (and loss curve) for this fit.

        np.float64, except a softmax head's: scikit-learn's log_loss calls
        scipy's xlogy on bool targets and the model's dtype, which scipy >= 1.18
        keeps in float32 for a float32 model (earlier scipy: float64).
        """
        if self.out_activation_ != "softmax":
            return np.float64
        from scipy.special import xlogy

        return type(xlogy(np.True_, self._params_flat.dtype.type(0.5)))

    def _kernel_data(self, X, y, sample_weight):
        """Contiguous arrays of the parameter dtype for the kernels."""
        dtype = self._params_flat.dtype
        Y = np.ascontiguousarray(y, dtype=dtype)
        sw = None if sample_weight is None else np.ascontiguousarray(sample_weight, dtype)
        return kernel_input(X, dtype), Y, sw

    def _fit_stochastic(self, X, y, sample_weight, incremental, callbacks):
        params = self._params_flat
        dtype = params.dtype
        layout = self._layout()
        optimizer = getattr(self, "_optimizer", None)
        if not incremental or optimizer is None:
            optimizer = make_optimizer(self, params.size, dtype)
        else:
            optimizer = copy.deepcopy(optimizer)  # a failed partial_fit keeps the old
        self._optimizer = optimizer

        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        early_stopping = self.early_stopping
        if early_stopping:
            should_stratify = is_classifier(self) and self.n_outputs_ == 1
            stratify = y if should_stratify else None
            arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
            split = train_test_split(
                *arrays, random_state=self._random_state,
                test_size=self.validation_fraction, stratify=stratify,
            )
            X_train, X_val, y_train, y_val = split[:4]
            sample_weight_train, sample_weight_val = (
                (None, None) if sample_weight is None else split[4:]
            )
            if X_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' "
                    "or the size of your dataset."
                )
            if is_classifier(self):
                y_val = self._label_binarizer.inverse_transform(y_val)
        else:
            X_train, y_train, sample_weight_train = X, y, sample_weight
            X_val = y_val = sample_weight_val = None

        n_samples = X_train.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than "
                    "sample size. It is going to be clipped"
                )
            batch_size = int(np.clip(self.batch_size, 1, n_samples))

        Xk, Yk, swk = self._kernel_data(X_train, y_train, sample_weight_train)
        dense = not isinstance(Xk, tuple)
        workspace = _layout.Workspace(layout, batch_size, dtype, dense and self.shuffle)
        sample_idx = np.arange(n_samples, dtype=np.intp)
        norm_sums = np.zeros(self.n_layers_ - 1)
        norms = np.zeros((self.max_iter, self.n_layers_ - 1))
        solver, state1, state2 = optimizer.kernel_args()
        # the optimizer's own hyperparameters: set_params between partial_fit
        # calls does not change them (as in scikit-learn)
        momentum, nesterov, beta_1, beta_2, epsilon = optimizer.kernel_hyperparameters()
        runner = _network.EpochRunner(
            layout, workspace, params, np.empty_like(params), state1, state2,
            self._running_flat, Xk, Yk, swk, sample_idx if self.shuffle else None,
            batch_size, solver, momentum, nesterov, beta_1, beta_2, epsilon,
            optimizer.t, float(self.alpha), norm_sums,
        )

        # sklearn.utils.shuffle(sample_idx) draws exactly what
        # self._random_state.shuffle(sample_idx) draws; this does the same.
        shuffle = shuffler_for(self._random_state)
        loss_type = self._loss_type()
        try:
            self.n_iter_ = 0
            for it in range(self.max_iter):
                if self.shuffle:
                    shuffle(sample_idx)
                if layout.has_dropout:
                    workspace.seed(self._random_state.randint(np.iinfo(np.int64).max))
                if callbacks is not None:
                    callbacks.begin_task("epoch")
                loss_sum, n_batches = runner.run(optimizer.epoch_learning_rate())
                # mean over the batches that stepped (zero-weight ones do not)
                np.divide(norm_sums, max(n_batches, 1), out=norms[it])
                norm_sums[:] = 0.0
                self.n_iter_ += 1
                self.loss_ = loss_type(np.float64(loss_sum) / n_samples)
                self.t_ += n_samples
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
                # Diverged: early stopping goes on (scikit-learn records NaN
                # validation scores and keeps the best weights); else give up.
                if (not early_stopping and not math.isfinite(self.loss_)
                        and not np.isfinite(params).all()):
                    raise ValueError(_NON_FINITE)

                self._update_no_improvement_count(
                    early_stopping, X_val, y_val, sample_weight_val
                )
                optimizer.iteration_ends(self.t_)
                if callbacks is not None and callbacks.end_task(params):
                    break

                if self._no_improvement_count > self.n_iter_no_change:
                    if early_stopping:
                        msg = (
                            "Validation score did not improve more than "
                            "tol=%f for %d consecutive epochs."
                            % (self.tol, self.n_iter_no_change)
                        )
                    else:
                        msg = (
                            "Training loss did not improve more than tol=%f"
                            " for %d consecutive epochs."
                            % (self.tol, self.n_iter_no_change)
                        )
                    if optimizer.trigger_stopping(msg, self.verbose):
                        break
                    self._no_improvement_count = 0

                if incremental:
                    break

                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        "Stochastic Optimizer: Maximum iterations (%d) "
                        "reached and the optimization hasn't converged yet."
                        % self.max_iter,
                        ConvergenceWarning,
                    )
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
        finally:
            self._append_gradient_norms(norms[:self.n_iter_])
            if callbacks is not None:
                callbacks.close_task()

        if early_stopping:  # the best epoch's model: weights and batch-norm statistics
            params[:] = self._best_params
            self._running_flat[:] = self._best_running

    def _append_gradient_norms(self, norms):
        if len(norms):
            self.gradient_norms_ = np.vstack([self.gradient_norms_, np.asarray(norms)])

    def _update_no_improvement_count(self, early_stopping, X, y, sample_weight):
        if early_stopping:
            val_score = self._score(X, y, sample_weight=sample_weight)
            self.validation_scores_.append(val_score)
            if self.verbose:
                print("Validation score: %f" % self.validation_scores_[-1])
            last_valid_score = self.validation_scores_[-1]
            if last_valid_score < (self.best_validation_score_ + self.tol):
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if last_valid_score > self.best_validation_score_:
                self.best_validation_score_ = last_valid_score
                self._best_params[:] = self._params_flat
                self._best_running[:] = self._running_flat
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    def _fit_lbfgs(self, X, y, sample_weight, callbacks):
        params = self._params_flat
        layout = self._layout()
        Xk, Yk, swk = self._kernel_data(X, y, sample_weight)
        workspace = _layout.Workspace(layout, X.shape[0], params.dtype, False)
        grads = np.empty_like(params)
        norms_now = np.zeros(self.n_layers_ - 1)
        norms = []
        alpha = float(self.alpha)
        # scikit-learn's squared error averages over outputs but its gradient
        # does not (scikit-learn issue 8349); scale the delta so they agree.
        delta_scale = 1.0
        if self.out_activation_ == "identity" and self.n_outputs_ > 1:
            delta_scale = 1.0 / self.n_outputs_

        running = self._running_flat

        if params.dtype == np.float64:
            def loss_grad(x, running_momentum=0.0):
                loss = _network.loss_and_gradient(
                    layout, workspace, x, grads, Xk, Yk, swk, alpha, delta_scale,
                    norms_now, running, running_momentum)
                return loss, grads
        else:
            def loss_grad(x, running_momentum=0.0):
                params[:] = x
                loss = _network.loss_and_gradient(
                    layout, workspace, params, grads, Xk, Yk, swk, alpha, delta_scale,
                    norms_now, running, running_momentum)
                return loss, grads.astype(np.float64)

        last_x = [params.astype(np.float64)]

        def record(intermediate_result):
            last_x[0] = intermediate_result.x.copy()  # scipy reuses its array
            norms.append(norms_now.copy())
            if callbacks is not None:
                if callbacks.end_task(intermediate_result.x):
                    raise StopIteration  # a callback asked to stop: scipy ends here
                callbacks.begin_task("lbfgs-iter")

        if callbacks is not None:
            callbacks.begin_task("lbfgs-iter")

        iprint = 1 if (self.verbose is True or self.verbose >= 1) else -1
        try:
            opt_res = scipy.optimize.minimize(
                loss_grad, last_x[0], method="L-BFGS-B", jac=True, callback=record,
                options={
                    "maxfun": self.max_fun,
                    "maxiter": self.max_iter,
                    "gtol": self.tol,
                    **_get_additional_lbfgs_options_dict("iprint", iprint),
                },
            )
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
            params[:] = last_x[0]
            self.n_iter_ = len(norms)
            self.loss_ = self._loss_type()(loss_grad(params.astype(np.float64))[0])
        else:
            if opt_res.status == 99:  # stopped by a callback, not a convergence failure
                self.n_iter_ = opt_res.nit
            else:
                self.n_iter_ = _check_optimize_result("lbfgs", opt_res, self.max_iter)
            self.loss_ = self._loss_type()(opt_res.fun)
            params[:] = opt_res.x
        finally:
            self._append_gradient_norms(norms)
            if callbacks is not None:
                callbacks.close_task()
        if running.size:
            # Batch norm's statistics at the solution, over the whole batch
            loss_grad(params.astype(np.float64), running_momentum=1.0)

    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values (class labels in classification, real numbers in
            regression).

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            Returns a trained MLP model.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    def _check_solver(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic"
                " optimizers. %s is not stochastic." % self.solver
            )
        return True

    def _score_with_function(self, X, y, sample_weight, score_function):
        """Score without input validation (used for early stopping)."""
        y_pred = self._predict(X, check_input=False)
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return score_function(y, y_pred, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class _InPlaceBackup:
    """Copies of what a fit changes in place, to put back if the fit raises.

    The parameter buffers (and the early-stopping best copies) are written in
    place and the curves are appended to; attribute rebindings are undone
    separately, from a snapshot of ``__dict__``.
    """

    _BUFFERS = ("_params_flat", "_running_flat", "_best_params", "_best_running")
    _CURVES = ("loss_curve_", "validation_scores_")

    def __init__(self, estimator):
        attributes = estimator.__dict__
        self.buffers = [(attributes[name], attributes[name].copy())
                        for name in self._BUFFERS if name in attributes]
        self.curves = [(attributes[name], len(attributes[name]))
                       for name in self._CURVES
                       if isinstance(attributes.get(name), list)]

    def restore(self):
        for live, saved in self.buffers:
            live[...] = saved
        for live, length in self.curves:
            del live[length:]


_VIEW_ATTRIBUTES = (
    "coefs_", "intercepts_", "prelu_slopes_", "batch_norm_scale_", "batch_norm_shift_",
    "batch_norm_running_mean_", "batch_norm_running_var_",
)
