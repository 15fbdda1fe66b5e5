# Follows scikit-learn's sklearn/neural_network/_multilayer_perceptron.py
# (the early-stopping split) and the validation-data checks of
# sklearn/ensemble/_hist_gradient_boosting/gradient_boosting.py;
# its notice is kept, as its license requires:
# Authors: The scikit-learn developers
# SPDX-License-Identifier: BSD-3-Clause
# (full text, and cymlp's own notice, in LICENSE)
"""Early stopping's validation set, and the score that judges the model on it.

The set is either held out of the training data (scikit-learn's split:
``validation_fraction`` of it, stratified for single-output classification)
or given to ``fit`` as ``X_val``, ``y_val`` and ``sample_weight_val``
(scikit-learn's ``HistGradientBoostingClassifier.fit`` names): the model
then trains on all of X, and no random draw is spent on a split.

The score is the estimator's ``scoring``, higher is better:

* None: scikit-learn's, the estimator's ``score`` (accuracy or R²);
* ``'loss'``: the training loss without its L2 term, weighted, negated; the
  loss kernels compute it on the outputs of a prediction
  (``NetworkState.loss``), so it cannot drift from the training loss;
* a scorer name or a callable, resolved with ``sklearn.metrics.check_scoring``.
"""

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import (_check_sample_weight, _check_y,
                                      check_consistent_length, column_or_1d,
                                      validate_data)

from ._solvers import Validation


def check_request(estimator, X_val, y_val, sample_weight_val):
    """Refuse, before anything is trained, validation data the fit cannot use.

    Returns ``(X_val, y_val, sample_weight_val)``, or None without them.
    """
    if X_val is None and y_val is None:
        if sample_weight_val is not None:
            raise ValueError("sample_weight_val is provided, but X_val and y_val were not.")
        return None
    if y_val is None:
        raise ValueError("X_val is provided, but y_val was not provided.")
    if X_val is None:
        raise ValueError("y_val is provided, but X_val was not provided.")
    if estimator.solver == "lbfgs":
        raise ValueError(
            "X_val and y_val are passed to fit with solver='lbfgs'. Validation data "
            "is for early stopping, which needs solver='sgd' or 'adam'."
        )
    if not estimator.early_stopping:
        raise ValueError(
            "X_val and y_val are passed to fit while at the same time early_stopping "
            "is False. When passing X_val and y_val to fit, early_stopping should be "
            "set to True."
        )
    return X_val, y_val, sample_weight_val


def early_stopping_set(estimator, network, X, y, sample_weight, given=None):
    """The data to train on and early stopping's ``Validation``.

    ``X``, ``y`` (2-D: binarized labels or targets) and ``sample_weight`` are
    the validated training data in ``network``'s dtype; ``given`` is what
    ``check_request`` returned. Returns ``(X, y, sample_weight, validation)``:
    the training part of the split, or all the data with ``given``.
    """
    if given is None:
        X, y, sample_weight, X_val, Y_val, sw_val = _split(estimator, X, y, sample_weight)
        labels = (estimator._label_binarizer.inverse_transform(Y_val)
                  if is_classifier(estimator) else Y_val)
    else:
        X_val, labels, Y_val, sw_val = _check_given(estimator, network, *given)
    scoring = estimator.scoring
    if scoring is None:   # scikit-learn's: the estimator's score
        return X, y, sample_weight, Validation(X_val, labels, sw_val, estimator._score)
    if isinstance(scoring, str) and scoring == "loss":
        return X, y, sample_weight, Validation(X_val, Y_val, sw_val,
                                               _negative_loss(network))
    if not is_classifier(estimator) and labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels.ravel()   # what predict returns
    scorer = _scorer(estimator, network, scoring)
    return X, y, sample_weight, Validation(X_val, labels, sw_val, scorer)


def _split(estimator, X, y, sample_weight):
    """scikit-learn's early-stopping split: (X, y, sample_weight) of the
    training part, then of the held-out part."""
    should_stratify = is_classifier(estimator) and estimator.n_outputs_ == 1
    arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
    split = train_test_split(
        *arrays, random_state=estimator._random_state,
        test_size=estimator.validation_fraction, stratify=y if should_stratify else None,
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
    return X_train, y_train, sample_weight_train, X_val, y_val, sample_weight_val


def _check_given(estimator, network, X_val, y_val, sample_weight_val):
    """The given validation set, checked as ``fit`` checks X, y and weights:
    (X_val in the network's dtype, y_val as ``score`` takes it, Y_val as the
    loss takes it (n_val, n_outputs), the weights or None)."""
    X_val = validate_data(estimator, X_val, accept_sparse=["csr", "csc"],
                          dtype=(np.float64, np.float32), reset=False)
    network.kernel_input(X_val)   # refuses values beyond the range of the model's dtype
    if sp.issparse(X_val):
        X_val = X_val.tocsr()     # the kernels' layout, once rather than every epoch
    if X_val.dtype != network.dtype:
        X_val = X_val.astype(network.dtype)
    y_val = _check_y(y_val, multi_output=True, y_numeric=not is_classifier(estimator),
                     estimator=estimator)
    if y_val.ndim == 2 and y_val.shape[1] == 1:
        y_val = column_or_1d(y_val, warn=True)
    check_consistent_length(X_val, y_val)
    if is_classifier(estimator):
        binarizer = estimator._label_binarizer
        if not binarizer.y_type_.startswith("multilabel"):
            unknown = np.setdiff1d(unique_labels(y_val), estimator.classes_)
            if len(unknown):
                raise ValueError(
                    f"y_val has classes {unknown} that the model does not know; its "
                    f"classes_ are {estimator.classes_}."
                )
        Y_val = binarizer.transform(y_val)
    else:
        Y_val = y_val.reshape(len(y_val), -1)
        if Y_val.shape[1] != estimator.n_outputs_:
            raise ValueError(
                f"y_val has {Y_val.shape[1]} outputs, but the model has "
                f"{estimator.n_outputs_} (the columns of y)."
            )
        if estimator.loss == "poisson" and np.any(Y_val < 0):
            raise ValueError(
                "Some value(s) of y_val are negative which is not allowed for "
                "Poisson regression (loss='poisson')."
            )
    if sample_weight_val is not None:
        # non-negative, not all zero: a positive sum
        sample_weight_val = _check_sample_weight(sample_weight_val, X_val,
                                                 ensure_non_negative=True)
        sample_weight_val = sample_weight_val.astype(network.dtype)
    return X_val, y_val, np.asarray(Y_val, dtype=network.dtype), sample_weight_val


def _negative_loss(network):
    """score(X, Y, sample_weight) = minus the weighted training loss, no L2 term."""
    def score(X, Y, sample_weight):
        return -network.loss(X, Y, sample_weight)
    return score


def _scorer(estimator, network, scoring):
    """score(X, y, sample_weight) by the scorer ``check_scoring`` resolves;
    NaN, as scikit-learn's early stopping records it, when the outputs are
    not finite (a diverged fit) and the scorer refuses them."""
    scorer = check_scoring(estimator, scoring=scoring)

    def score(X, y, sample_weight):
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        try:
            with warnings.catch_warnings():
                # X_val was validated once, without the column names of a
                # dataframe: the scorer's predict need not say so every epoch.
                warnings.filterwarnings("ignore", message="X does not have valid feature names")
                return scorer(estimator, X, y, **kwargs)
        except ValueError:
            if np.isfinite(network.predict(X)).all():
                raise
            return np.nan
    return score
