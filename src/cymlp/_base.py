# Follows scikit-learn's sklearn/neural_network/_multilayer_perceptron.py
# (validation, the fit's setup and its random stream);
# its notice is kept, as its license requires:
# Authors: The scikit-learn developers
# SPDX-License-Identifier: BSD-3-Clause
# (full text, and cymlp's own notice, in LICENSE)
"""BaseMLP: what both estimators share around the network state and the solvers.

Validation (scikit-learn's checks, in its order), the fit transaction, the
network's setup (a fresh network, hand-set weights, or a resumed one for
warm start and partial_fit), and the public methods. The network itself
(its buffers, the views that are its fitted arrays, its pickled form) is a
``NetworkState`` (``_state.py``); early stopping's validation set and score
come from ``_validation.py``; the solver loops are in ``_solvers.py``, and
return a record that ``_fit`` applies. Nothing here loops over samples or
batches.

A resumed fit trains the live parameter buffer in place, as scikit-learn
does, so arrays a user holds (``est.coefs_[0]``) see the new weights. Each
fit is a transaction: it snapshots what it changes in place and restores it
(and every attribute) if the fit raises, so a diverging fit never leaves a
half-written model behind. The exception is early stopping: as in
scikit-learn, a fit whose loss diverges then ends with the best weights it
saw, and NaN validation scores for the diverged epochs.
"""

import copy
import inspect
import math
import warnings
from abc import ABC, abstractmethod

import numpy as np
from sklearn import get_config
from sklearn.base import BaseEstimator, is_classifier
from sklearn.callback import CallbackSupportMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _solvers, _validation
from ._build_config import VERSION as __version__
from ._params import (
    FIT_DOC,
    PARAMETER_CONSTRAINTS,
    dropout_list,
    hand_set_weights,
    hidden_activation_list,
    hidden_layer_list,
    initial_weights,
    output_activation,
)
from ._state import (SAVED_ATTRIBUTES, VIEW_ATTRIBUTES, InconsistentVersionWarning,
                     NetworkState, head_for)

_STOCHASTIC_SOLVERS = ("sgd", "adam")
_FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


class BaseMLP(CallbackSupportMixin, BaseEstimator, ABC):
    """Base class of MLPClassifier and MLPRegressor; do not use directly."""

    _parameter_constraints: dict = dict(PARAMETER_CONSTRAINTS)

    @abstractmethod
    def __init__(
        self, hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate,
        learning_rate_init, power_t, max_iter, loss, shuffle, random_state, tol,
        verbose, warm_start, momentum, nesterovs_momentum, early_stopping,
        validation_fraction, beta_1, beta_2, epsilon, n_iter_no_change, max_fun,
        negative_slope, dropout, batch_norm, weight_init, scoring, n_jobs=None,
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
        self.scoring = scoring
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------
    # The network state: its views are the fitted arrays
    # ------------------------------------------------------------------

    def _network_config(self, n_hidden):
        """Per-hidden-layer settings from the constructor parameters, validated."""
        return {
            "activations": hidden_activation_list(self.activation, n_hidden),
            "dropout": dropout_list(self.dropout, n_hidden),
            "batch_norm": [bool(self.batch_norm)] * n_hidden,
            "negative_slope": float(self.negative_slope),
        }

    def _loss_head(self, resuming=False):
        """(head, quantile) of the kernels' loss, from ``out_activation_`` and ``loss``."""
        return head_for(self.out_activation_, self.loss, getattr(self, "quantile", 0.5),
                        resuming)

    def _bind(self, network):
        """Make ``network`` the model; its views become the fitted arrays."""
        self._network_state = network
        self.__dict__.update(network.views())

    def _network(self):
        """The network state, with coefs_ and intercepts_ repacked into it first
        if they were replaced (a user may assign new arrays, as in scikit-learn)."""
        network = self._network_state
        if not network.owns(list(self.coefs_) + list(self.intercepts_)):
            network.adopt(self.coefs_, self.intercepts_)
            self._bind(network)
        return network

    def __getstate__(self):
        state = dict(super().__getstate__())
        if "_network_state" in state:
            state.update(self._network().to_attributes())
            for name in ("_network_state",) + VIEW_ATTRIBUTES:
                state.pop(name, None)
        state["_cymlp_version"] = __version__
        return state

    def __setstate__(self, state):
        state = dict(state)
        # models saved before 0.2.0 did not record their cymlp version
        version = state.pop("_cymlp_version", "0.1.0 or earlier")
        if version != __version__:
            warnings.warn(InconsistentVersionWarning(
                estimator_name=type(self).__name__, current_sklearn_version=__version__,
                original_sklearn_version=version))
        saved = {name: state.pop(name) for name in SAVED_ATTRIBUTES if name in state}
        # parameters added since the model was saved: their defaults
        for name, parameter in inspect.signature(type(self).__init__).parameters.items():
            if parameter.default is not parameter.empty:
                state.setdefault(name, parameter.default)
        super().__setstate__(state)
        if saved:
            self._bind(NetworkState.from_attributes(saved, *self._loss_head()))

    # ------------------------------------------------------------------
    # Forward passes for prediction
    # ------------------------------------------------------------------

    def _check_fitted(self):
        """check_is_fitted, without its scan of every attribute when fitted."""
        if "_network_state" not in self.__dict__:
            check_is_fitted(self, "_network_state")

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

    def _forward_pass_fast(self, X, check_input=True):
        """Output-layer values (probabilities or predictions) for X."""
        if check_input:
            X = self._validate_X_predict(X)
        return self._network().predict(X, self.n_jobs)

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
        return self._network().forward_all(X)[:-1]

    # ------------------------------------------------------------------
    # Fitting
    # ------------------------------------------------------------------

    def _fit(self, X, y, sample_weight=None, incremental=False, prepare=None,
             validation_data=(None, None, None)):
        """Fit inside a transaction: if anything raises, the estimator is restored.

        ``prepare`` (optional) runs first, inside the transaction (the
        classifier's first ``partial_fit`` call sets its classes there);
        ``validation_data`` is fit's ``(X_val, y_val, sample_weight_val)``.
        """
        callbacks = None
        if getattr(self, "_skl_callbacks", None):
            # One subtask per epoch (per L-BFGS iteration, plus the one left
            # open when scipy stops, as in scikit-learn's LogisticRegression).
            n_tasks = 1 if incremental else self.max_iter + (self.solver == "lbfgs")
            from ._callbacks import FitCallbacks   # only fits with callbacks need it

            callbacks = FitCallbacks(self._init_callback_context(max_subtasks=n_tasks),
                                     self, X, y, sample_weight)
        attributes = dict(self.__dict__)
        network = attributes.get("_network_state")
        snapshot = None if network is None else network.snapshot()
        try:
            if prepare is not None:
                prepare()
            self._fit_unsafe(X, y, sample_weight, incremental, callbacks, validation_data)
        except BaseException:
            if network is not None:
                network.restore(snapshot)
            self.__dict__.clear()
            self.__dict__.update(attributes)
            raise
        if callbacks is not None:
            callbacks.end_fit()
        return self

    def _fit_unsafe(self, X, y, sample_weight, incremental, callbacks, validation_data):
        given = _validation.check_request(self, *validation_data)
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
        if self.early_stopping and incremental and self.solver in _STOCHASTIC_SOLVERS:
            raise ValueError("partial_fit does not support early_stopping=True")
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
        units = [X.shape[1]] + hidden_layer_sizes + [y.shape[1]]

        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(y, units, X.dtype, config)
        elif "_network_state" not in self.__dict__:
            # coefs_ and intercepts_ set by hand: scikit-learn trains on from them
            self._initialize(y, units, X.dtype, config,
                             hand_set_weights(self.coefs_, getattr(self, "intercepts_", []),
                                              units))
        else:
            # the same buffers, perhaps a new dropout or negative_slope: the
            # fitted arrays stay views of what is trained
            self._network_state = self._network().check_resumable(
                units, config, *self._loss_head(resuming=True))
        network = self._network_state  # trained in place from here on
        if X.dtype != network.dtype:
            X = X.astype(network.dtype)
        if sample_weight is not None:
            sample_weight = sample_weight.astype(network.dtype, copy=False)

        if callbacks is not None:
            callbacks.begin_fit()
        from ._threads import effective_n_threads, single_threaded_blas

        n_threads = effective_n_threads(self.n_jobs)
        with single_threaded_blas(n_threads is not None):
            if self.solver in _STOCHASTIC_SOLVERS:
                progress = self._fit_stochastic(X, y, sample_weight, incremental, callbacks,
                                                given, n_threads)
            else:
                progress = self._fit_lbfgs(X, y, sample_weight, callbacks, n_threads)
        self._check_finite_result(X, progress.loss)
        progress.apply_to(self)
        return self

    def _fit_stochastic(self, X, y, sample_weight, incremental, callbacks, given, n_threads):
        """Set up and run the stochastic solver; return its progress record."""
        from ._optim import make_optimizer   # only stochastic fits need it

        network = self._network_state
        optimizer = getattr(self, "_optimizer", None)
        if not incremental or optimizer is None:
            optimizer = make_optimizer(self, network.layout.n_params, network.dtype)
        else:
            optimizer = copy.deepcopy(optimizer)  # a failed partial_fit keeps the old
        self._optimizer = optimizer

        validation = None
        if self.early_stopping:
            X, y, sample_weight, validation = _validation.early_stopping_set(
                self, network, X, y, sample_weight, given)
        settings = _solvers.StochasticSettings.of(self, X.shape[0], incremental, n_threads)
        return _solvers.fit_stochastic(
            network, network.training_set(X, y, sample_weight), optimizer, settings,
            _solvers.Progress.of(self), self._random_state, validation, callbacks)

    def _fit_lbfgs(self, X, y, sample_weight, callbacks, n_threads):
        """Set up and run L-BFGS; return its progress record."""
        network = self._network_state
        return _solvers.fit_lbfgs(network, network.training_set(X, y, sample_weight),
                                  _solvers.LbfgsSettings.of(self, n_threads),
                                  _solvers.Progress.of(self), callbacks)

    def _check_finite_result(self, X, loss):
        """A fit must end with finite weights, a finite loss and finite outputs.

        The output check runs one batch of training rows through the final
        weights: weights that are finite but overflow the output fail here.
        """
        if not self._network_state.is_finite():
            raise ValueError(_solvers.NON_FINITE)
        # Early stopping ends with its best weights even after the loss diverged
        finite_loss_needed = not (self.early_stopping and self.solver in _STOCHASTIC_SOLVERS)
        if finite_loss_needed and loss is not None and not math.isfinite(loss):
            raise ValueError(
                f"The fit ended with a non-finite loss ({loss}). The input data "
                "may contain large values and need to be preprocessed."
            )
        if X.shape[0] and not np.isfinite(self._forward_pass_fast(X[:200], False)).all():
            raise ValueError(
                "The fitted weights give non-finite outputs. The input data may "
                "contain large values and need to be preprocessed."
            )

    def _initialize(self, y, units, dtype, config, weights=None):
        """Fresh network: output activation; the weights drawn as scikit-learn
        draws them, or the given (coefs, intercepts)."""
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(units)
        self.out_activation_ = output_activation(
            self.loss, self._label_binarizer if is_classifier(self) else None)
        coefs, intercepts = weights or initial_weights(
            self._random_state, self.weight_init, config["activations"], units,
            self.activation,
        )
        head, quantile = self._loss_head()
        self._bind(NetworkState.new(units, config, head, coefs, intercepts, dtype, quantile))
        self.__dict__.update(_solvers.Progress.fresh_attributes(
            self.n_layers_, self.solver in _STOCHASTIC_SOLVERS, self.early_stopping))

    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None,
            sample_weight_val=None):
        return self._fit(X, y, sample_weight=sample_weight, incremental=False,
                         validation_data=(X_val, y_val, sample_weight_val))

    fit.__doc__ = FIT_DOC

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
