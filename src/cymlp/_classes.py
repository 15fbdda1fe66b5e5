# Follows scikit-learn's sklearn/neural_network/_multilayer_perceptron.py
# (the estimators' methods and output encoding);
# its notice is kept, as its license requires:
# Authors: The scikit-learn developers
# SPDX-License-Identifier: BSD-3-Clause
# (full text, and cymlp's own notice, in LICENSE)
"""MLPClassifier and MLPRegressor: scikit-learn's estimators on cymlp's kernels."""

from numbers import Real

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import column_or_1d, validate_data

from ._base import BaseMLP
from ._params import ATTRIBUTES_DOC, PARAMETERS_DOC
from ._warnings import column_vector_y_warning


class MLPClassifier(ClassifierMixin, BaseMLP):
    __doc__ = (
        """Multi-layer perceptron classifier on Cython kernels.

    A drop-in replacement for ``sklearn.neural_network.MLPClassifier``: the
    same parameters, attributes and, for the same ``random_state`` on float64
    data, the same model. It optimizes the log-loss with L-BFGS, SGD or Adam;
    binary, multiclass and multilabel targets; dense or sparse X; float32
    input is trained and predicted in float32.

    Parameters
    ----------"""
        + PARAMETERS_DOC
        + """
    class_weight : dict, list of dict, 'balanced' or None, default=None
        Weights of the classes, ``{label: weight}``, multiplying
        ``sample_weight``; 'balanced' uses n_samples / (n_classes *
        np.bincount(y)). For multilabel y, a list of one dict per label,
        ``{0: weight, 1: weight}`` (or 'balanced'); the weights of a sample's
        labels multiply. Not in scikit-learn's MLP.

    Attributes
    ----------
    classes_ : ndarray or list of ndarray of shape (n_classes,)
        Class labels for each output.
"""
        + ATTRIBUTES_DOC
        + """
    See Also
    --------
    MLPRegressor : Multi-layer perceptron regressor.
    sklearn.neural_network.MLPClassifier : The estimator this one reproduces.

    Examples
    --------
    >>> from cymlp import MLPClassifier
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(n_samples=100, random_state=1)
    >>> clf = MLPClassifier(random_state=1, max_iter=300).fit(X, y)
    >>> clf.predict(X[:3]).shape
    (3,)
    """
    )

    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "class_weight": [dict, list, StrOptions({"balanced"}), None],
    }

    # The "?" link of the HTML repr (notebooks) points at the API page.
    _doc_link_module = "cymlp"
    _doc_link_template = (
        "https://cymlp.readthedocs.io/en/latest/api/generated/"
        "{estimator_module}.{estimator_name}.html"
    )

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        negative_slope=0.01,
        dropout=0.0,
        batch_norm=False,
        weight_init="auto",
        scoring=None,
        n_jobs=None,
        class_weight=None,
    ):
        self.class_weight = class_weight
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            loss="log_loss",
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            negative_slope=negative_slope,
            dropout=dropout,
            batch_norm=batch_norm,
            weight_init=weight_init,
            scoring=scoring,
            n_jobs=n_jobs,
        )

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            column_vector_y_warning()  # scikit-learn's, filtered as its MLP's
            y = column_or_1d(y)
        if (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same "
                        "classes as in the previous call to fit. Previously "
                        f"got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. "
                    f"`self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        class_weights = None
        if self.class_weight is not None:
            if incremental and self.class_weight == "balanced":
                raise ValueError(
                    "class_weight 'balanced' is not supported for partial_fit: the "
                    "class frequencies of one batch are not those of the data. "
                    "Pass a dict of class weights instead."
                )
            if isinstance(self.class_weight, list) and (
                y.ndim == 1 or not all(isinstance(w, dict) for w in self.class_weight)
            ):
                raise ValueError(
                    "class_weight as a list takes one dict per label of a multilabel "
                    f"y ({{0: weight, 1: weight}} each); got {self.class_weight!r} for "
                    f"a y of type {type_of_target(y)!r}. For a single-output y, pass one dict."
                )
            class_weights = compute_sample_weight(self.class_weight, y)
            if not (np.isfinite(class_weights).all() and (class_weights >= 0).all()):
                raise ValueError(
                    "class_weight must give finite, non-negative weights, got "
                    f"{self.class_weight!r}."
                )
        y = self._label_binarizer.transform(y).astype(bool)
        return X, y, class_weights

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None,
            sample_weight_val=None):
        return super().fit(X, y, sample_weight=sample_weight, X_val=X_val, y_val=y_val,
                           sample_weight_val=sample_weight_val)

    fit.__doc__ = BaseMLP.fit.__doc__

    def predict(self, X):
        """Predict using the multi-layer perceptron classifier.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray, shape (n_samples,) or (n_samples, n_classes)
            The predicted classes.
        """
        self._check_fitted()
        return self._predict(X)

    def _predict(self, X, check_input=True):
        y_pred = self._forward_pass_fast(X, check_input=check_input)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        return self._label_binarizer.inverse_transform(y_pred)

    def _score(self, X, y, sample_weight=None):
        return self._score_with_function(
            X, y, sample_weight=sample_weight, score_function=accuracy_score
        )

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with a single iteration over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : array-like of shape (n_samples,)
            The target values.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        classes : array of shape (n_classes,), default=None
            Classes across all calls to partial_fit, required on the first
            call (``np.unique(y_all)``); y need not contain all of them.

        Returns
        -------
        self : object
            Trained MLP model.
        """
        def first_call():
            if _check_partial_fit_first_call(self, classes):
                self._label_binarizer = LabelBinarizer()
                if type_of_target(y).startswith("multilabel"):
                    self._label_binarizer.fit(y)
                else:
                    self._label_binarizer.fit(classes)

        return self._fit(X, y, sample_weight=sample_weight, incremental=True,
                         prepare=first_call)

    def predict_log_proba(self, X):
        """Return the log of probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_y_prob : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``, classes ordered as in ``classes_``.
        """
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            The probability of each class, ordered as in ``classes_``.
        """
        self._check_fitted()
        y_pred = self._forward_pass_fast(X)
        if self.n_outputs_ == 1:
            proba = np.empty((y_pred.shape[0], 2), dtype=y_pred.dtype)
            proba[:, 1] = y_pred[:, 0]
            np.subtract(1, y_pred[:, 0], out=proba[:, 0])
            return proba
        return y_pred

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMLP):
    __doc__ = (
        """Multi-layer perceptron regressor on Cython kernels.

    A drop-in replacement for ``sklearn.neural_network.MLPRegressor``: the
    same parameters, attributes and, for the same ``random_state`` on float64
    data, the same model. It optimizes the squared error or the Poisson
    deviance with L-BFGS, SGD or Adam, for one or several outputs; beyond
    scikit-learn, also the absolute error or the pinball loss of a quantile.

    Two differences from scikit-learn 1.9, both bug fixes: with
    ``solver='lbfgs'`` and several outputs, the squared-error gradient is the
    true gradient of the reported loss (scikit-learn's is n_outputs times too
    large, scikit-learn issue 8349); and ``partial_fit`` is not available with
    ``solver='lbfgs'`` (scikit-learn silently runs a full fit).

    Parameters
    ----------
    loss : {'squared_error', 'poisson', 'absolute_error', 'quantile'}, \
            default='squared_error'
        The loss function: half squared error with an identity output, or
        half Poisson deviance with an exponential output (targets >= 0), as
        in scikit-learn; beyond it, with an identity output, 'absolute_error'
        (``|y - p|``, fits the conditional median) or 'quantile' (the pinball
        loss of ``quantile``, fits that conditional quantile), named as in
        ``HistGradientBoostingRegressor``. With several outputs each loss is
        the mean over the outputs.
"""
        + PARAMETERS_DOC
        + """
    quantile : float, default=0.5
        The quantile q in (0, 1) that ``loss='quantile'`` estimates: the
        pinball loss is ``q * (y - p)`` where ``y >= p`` and ``(1 - q) * (p -
        y)`` below. Unused by the other losses. Not in scikit-learn's MLP.

    Attributes
    ----------"""
        + ATTRIBUTES_DOC
        + """
    See Also
    --------
    MLPClassifier : Multi-layer perceptron classifier.
    sklearn.neural_network.MLPRegressor : The estimator this one reproduces.

    Examples
    --------
    >>> from cymlp import MLPRegressor
    >>> from sklearn.datasets import make_regression
    >>> X, y = make_regression(n_samples=200, n_features=20, random_state=1)
    >>> regr = MLPRegressor(random_state=1, max_iter=2000, tol=0.1).fit(X, y)
    >>> regr.predict(X[:2]).shape
    (2,)
    """
    )

    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson", "absolute_error", "quantile"})],
        "quantile": [Interval(Real, 0, 1, closed="neither")],
    }

    # The "?" link of the HTML repr (notebooks) points at the API page.
    _doc_link_module = "cymlp"
    _doc_link_template = (
        "https://cymlp.readthedocs.io/en/latest/api/generated/"
        "{estimator_module}.{estimator_name}.html"
    )

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        negative_slope=0.01,
        dropout=0.0,
        batch_norm=False,
        weight_init="auto",
        scoring=None,
        n_jobs=None,
        quantile=0.5,
    ):
        self.quantile = quantile
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            loss=loss,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            negative_slope=negative_slope,
            dropout=dropout,
            batch_norm=batch_norm,
            weight_init=weight_init,
            scoring=scoring,
            n_jobs=n_jobs,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None,
            sample_weight_val=None):
        return super().fit(X, y, sample_weight=sample_weight, X_val=X_val, y_val=y_val,
                           sample_weight_val=sample_weight_val)

    fit.__doc__ = BaseMLP.fit.__doc__

    def predict(self, X):
        """Predict using the multi-layer perceptron model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values.
        """
        self._check_fitted()
        return self._predict(X)

    def _predict(self, X, check_input=True):
        y_pred = self._forward_pass_fast(X, check_input=check_input)
        if y_pred.shape[1] == 1:
            return y_pred.ravel()
        return y_pred

    def _score(self, X, y, sample_weight=None):
        return self._score_with_function(
            X, y, sample_weight=sample_weight, score_function=r2_score
        )

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            column_vector_y_warning()  # scikit-learn's, filtered as its MLP's
            y = column_or_1d(y)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(
                "Some value(s) of y are negative which is not allowed for "
                "Poisson regression (loss='poisson')."
            )
        return X, y, None

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with a single iteration over the given data.

        Only with ``solver='sgd'`` or ``'adam'`` (scikit-learn 1.9 silently
        runs a full L-BFGS fit instead).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : ndarray of shape (n_samples,)
            The target values.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            Trained MLP model.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)
