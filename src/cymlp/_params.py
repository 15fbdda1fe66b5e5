# Follows scikit-learn's sklearn/neural_network/_multilayer_perceptron.py
# (the parameter constraints, their docs, the weight initialization);
# its notice is kept, as its license requires:
# Authors: The scikit-learn developers
# SPDX-License-Identifier: BSD-3-Clause
# (full text, and cymlp's own notice, in LICENSE)
"""Constructor parameters shared by both estimators: constraints and their docs,
and the network they describe (layer lists, output activation, the initial
or hand-set weights).

The constraints are scikit-learn 1.9's for its MLP, so the same values are
accepted and the same ``InvalidParameterError`` is raised for the others.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, Options, StrOptions

HIDDEN_ACTIVATIONS = (
    "identity", "logistic", "tanh", "relu", "leaky_relu", "prelu", "elu", "gelu",
)
WEIGHT_INITS = ("auto", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal")

PARAMETER_CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "activation": [StrOptions(set(HIDDEN_ACTIVATIONS)), list, tuple],
    "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
    "alpha": [Interval(Real, 0, None, closed="left")],
    "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
    "learning_rate": [StrOptions({"constant", "invscaling", "adaptive", "cosine"})],
    "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
    "power_t": [Interval(Real, 0, None, closed="left")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "shuffle": ["boolean"],
    "random_state": ["random_state"],
    "tol": [Interval(Real, 0, None, closed="left")],
    "verbose": ["verbose"],
    "warm_start": ["boolean"],
    "momentum": [Interval(Real, 0, 1, closed="both")],
    "nesterovs_momentum": ["boolean"],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="left")],
    "beta_1": [Interval(Real, 0, 1, closed="left")],
    "beta_2": [Interval(Real, 0, 1, closed="left")],
    "epsilon": [Interval(Real, 0, None, closed="neither")],
    "n_iter_no_change": [
        Interval(Integral, 1, None, closed="left"),
        Options(Real, {np.inf}),
    ],
    "max_fun": [Interval(Integral, 1, None, closed="left")],
    # Beyond scikit-learn: defaults keep scikit-learn's results.
    "negative_slope": [Interval(Real, 0, None, closed="left")],
    "dropout": [Interval(Real, 0, 1, closed="left"), list, tuple],
    "batch_norm": ["boolean"],
    "weight_init": [StrOptions(set(WEIGHT_INITS))],
    "scoring": [str, callable, None],
    "n_jobs": [Integral, None],
}


# Larger layers could not be allocated anyway; past this, say so plainly.
MAX_LAYER_SIZE = 2**31 - 1


def hidden_layer_list(hidden_layer_sizes):
    """``hidden_layer_sizes`` as a list of positive ints.

    Raises what scikit-learn raises, in its order: ValueError when all entries
    are numbers and one is below 1, then TypeError for a non-integer entry.
    """
    sizes = hidden_layer_sizes
    if isinstance(sizes, str) or not hasattr(sizes, "__iter__"):
        sizes = [sizes]
    sizes = list(sizes)
    if all(isinstance(s, Real) for s in sizes) and any(s <= 0 for s in sizes):
        raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, Integral):
            raise TypeError(
                "hidden_layer_sizes must hold integers (units per hidden layer), "
                f"got {size!r} in {sizes}."
            )
    if any(s > MAX_LAYER_SIZE for s in sizes):
        raise ValueError(
            f"hidden_layer_sizes entries must be at most {MAX_LAYER_SIZE}, got {sizes}."
        )
    return [int(s) for s in sizes]


def per_layer(value, n_hidden, name):
    """A per-hidden-layer setting as a list: a scalar repeats, a list must fit."""
    if isinstance(value, (list, tuple)):
        if len(value) != n_hidden:
            raise ValueError(
                f"{name} has {len(value)} entries but hidden_layer_sizes has "
                f"{n_hidden} hidden layers; give one {name} per hidden layer."
            )
        return list(value)
    return [value] * n_hidden


def hidden_activation_list(activation, n_hidden):
    """One validated activation name per hidden layer."""
    names = per_layer(activation, n_hidden, "activation")
    for name in names:
        if name not in HIDDEN_ACTIVATIONS:
            raise ValueError(
                f"Unknown activation {name!r}; choose from {list(HIDDEN_ACTIVATIONS)}."
            )
    return names


def dropout_list(dropout, n_hidden):
    """One validated dropout rate in [0, 1) per hidden layer."""
    rates = per_layer(dropout, n_hidden, "dropout")
    for rate in rates:
        if not (isinstance(rate, Real) and 0 <= rate < 1):
            raise ValueError(f"dropout rates must be numbers in [0, 1), got {rate!r}.")
    return [float(r) for r in rates]


def initial_weights(random_state, weight_init, activations, units, auto_activation):
    """Weights and biases per layer, drawn in scikit-learn's order.

    'auto' is scikit-learn's scheme: W and b uniform in +-sqrt(6 / (fan_in +
    fan_out)) (factor 2 instead of 6 when the layer fed is logistic). The
    other schemes draw W only and start biases at zero.
    """
    coefs, intercepts = [], []
    n_layers = len(units)
    for i, (fan_in, fan_out) in enumerate(zip(units[:-1], units[1:])):
        if weight_init == "auto":
            fed = activations[i] if i < n_layers - 2 else (
                activations[-1] if activations else auto_activation)
            factor = 2.0 if fed == "logistic" else 6.0
            bound = np.sqrt(factor / (fan_in + fan_out))
            coefs.append(random_state.uniform(-bound, bound, (fan_in, fan_out)))
            intercepts.append(random_state.uniform(-bound, bound, fan_out))
            continue
        if weight_init == "glorot_uniform":
            bound = np.sqrt(6.0 / (fan_in + fan_out))
            coefs.append(random_state.uniform(-bound, bound, (fan_in, fan_out)))
        elif weight_init == "glorot_normal":
            std = np.sqrt(2.0 / (fan_in + fan_out))
            coefs.append(random_state.normal(0.0, std, (fan_in, fan_out)))
        elif weight_init == "he_uniform":
            bound = np.sqrt(6.0 / fan_in)
            coefs.append(random_state.uniform(-bound, bound, (fan_in, fan_out)))
        else:  # he_normal
            coefs.append(random_state.normal(0.0, np.sqrt(2.0 / fan_in), (fan_in, fan_out)))
        intercepts.append(np.zeros(fan_out))
    return coefs, intercepts


PARAMETERS_DOC = """
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of neurons in the ith hidden layer.
        An empty tuple gives a network with no hidden layer.

    activation : str or list of str, default='relu'
        Activation function of the hidden layers, or a list with one name per
        hidden layer: 'identity' (x), 'logistic' (1 / (1 + exp(-x))), 'tanh',
        'relu' (max(0, x)), and beyond scikit-learn 'leaky_relu' (x, or
        ``negative_slope * x`` below 0), 'prelu' (a learned slope per unit,
        starting at 0.25), 'elu' (x, or exp(x) - 1 below 0) and 'gelu'
        (x * Phi(x), exact erf form).

    solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
        The solver for weight optimization: 'lbfgs' (scipy's L-BFGS-B on the
        full batch), 'sgd' (stochastic gradient descent) or 'adam'. With 'sgd' and
        'adam' the loss curves are scikit-learn's to 1e-12. 'lbfgs' amplifies
        last-bit differences: runs of hundreds of iterations drift from
        scikit-learn's and may stop at another ``n_iter_`` (see
        :ref:`differences`).

    alpha : float, default=0.0001
        Strength of the L2 regularization term, divided by the sample size
        (sum of sample weights) when added to the loss.

    batch_size : int or 'auto', default='auto'
        Size of minibatches for stochastic optimizers; 'auto' means
        ``min(200, n_samples)``. Unused by 'lbfgs'.

    learning_rate : {'constant', 'invscaling', 'adaptive', 'cosine'}, default='constant'
        Learning rate schedule. As in scikit-learn, the first three apply to
        'sgd' only: constant ``learning_rate_init``; ``learning_rate_init /
        pow(t, power_t)``; or divided by 5 each time ``n_iter_no_change``
        consecutive epochs fail to improve by ``tol``. Beyond scikit-learn,
        'cosine' anneals the rate of 'sgd' and 'adam' from
        ``learning_rate_init`` to 0 over ``max_iter`` epochs: epoch ``e``
        (counted from 0) trains at ``learning_rate_init * (1 + cos(pi * (e
        mod max_iter) / max_iter)) / 2``. ``e`` counts every epoch since the
        network was initialized, so a ``warm_start`` fit or a ``partial_fit``
        call continues the schedule where the last one stopped (each
        ``partial_fit`` call is one epoch); after ``max_iter`` epochs the
        cycle restarts at ``learning_rate_init`` (a warm restart).

    learning_rate_init : float, default=0.001
        The initial learning rate ('sgd' and 'adam').

    power_t : float, default=0.5
        Exponent of the 'invscaling' schedule ('sgd' only).

    max_iter : int, default=200
        Maximum number of epochs (stochastic solvers) or iterations ('lbfgs';
        long L-BFGS runs may stop at another ``n_iter_`` than scikit-learn's,
        see ``solver``).

    shuffle : bool, default=True
        Whether to shuffle the samples in each epoch (stochastic solvers).

    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialization, the early-stopping split and the
        shuffles, drawn in scikit-learn's order: the same seed gives the
        same model as scikit-learn.

    tol : float, default=1e-4
        Tolerance for the optimization: training stops when the loss (or the
        validation score) does not improve by ``tol`` for
        ``n_iter_no_change`` consecutive epochs.

    verbose : bool, default=False
        Whether to print progress messages to stdout.

    warm_start : bool, default=False
        Reuse the previous solution as the initialization of the next fit.

    momentum : float, default=0.9
        Momentum of 'sgd', between 0 and 1.

    nesterovs_momentum : bool, default=True
        Whether to use Nesterov's momentum ('sgd' with momentum > 0).

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified for
        single-output classification), or use the ``X_val`` and ``y_val``
        given to ``fit``, and stop when the validation score (``scoring``)
        stops improving; the best weights are restored. Stochastic solvers
        only.

    validation_fraction : float, default=0.1
        Proportion of training data held out for early stopping (unused
        when ``fit`` is given ``X_val`` and ``y_val``).

    beta_1 : float, default=0.9
        Decay rate of the first moment estimates of 'adam', in [0, 1).

    beta_2 : float, default=0.999
        Decay rate of the second moment estimates of 'adam', in [0, 1).

    epsilon : float, default=1e-8
        Numerical stability constant of 'adam'.

    n_iter_no_change : int, default=10
        Number of epochs without ``tol`` improvement before stopping
        (stochastic solvers).

    max_fun : int, default=15000
        Maximum number of loss function calls ('lbfgs' only).

    negative_slope : float, default=0.01
        Slope of 'leaky_relu' for negative inputs (>= 0).

    dropout : float or list of float, default=0.0
        Probability of zeroing each hidden unit during training (inverted
        dropout; masks drawn from ``random_state``), one value or one per
        hidden layer. Prediction is deterministic. Needs 'sgd' or 'adam'.

    batch_norm : bool, default=False
        Normalize each hidden layer's pre-activation over the mini-batch in
        training (learned scale and shift; running mean and variance with
        momentum 0.1, eps 1e-5) and with the running statistics at
        prediction.

    weight_init : {'auto', 'glorot_uniform', 'glorot_normal', 'he_uniform', \
            'he_normal'}, default='auto'
        Initial weights: 'auto' is scikit-learn's scheme (weights and biases
        uniform, Glorot's bound); the others draw weights only, biases at 0.

    scoring : str, callable or None, default=None
        What early stopping watches on the validation set (higher is
        better). None: scikit-learn's, the estimator's ``score`` (accuracy
        for the classifier, R² for the regressor). 'loss': the training loss
        without the L2 term, weighted by the validation sample weights,
        negated (for the classifier, ``-log_loss(y_val,
        predict_proba(X_val))``). Else a scorer name or a callable
        ``scorer(estimator, X, y)``, resolved by
        :func:`sklearn.metrics.check_scoring`. Used only with
        ``early_stopping=True``.
    n_jobs : int, default=None
        Threads of the data-parallel path: each mini-batch (L-BFGS: the whole
        training set) is cut into row blocks of at least 64 rows (a power of
        two of them, at most 64; two blocks for 64 to 127 rows; the cut
        depends on the batch size and the network, never on the number of
        threads), the threads run the blocks' forward and backward passes
        and share the optimizer step, with BLAS at one thread meanwhile;
        ``predict`` and ``predict_proba`` run more than 512 rows in chunks on
        the threads. Every ``n_jobs`` gives the
        same bits; they differ from None's results only in the order of the
        gradient's sums. More threads than blocks wait: use a larger
        ``batch_size`` for more cores. None is one thread through
        the whole batch at once, as scikit-learn computes it. -1 means every
        core (fewer when ``OMP_NUM_THREADS`` or
        ``threadpoolctl.threadpool_limits`` set a lower limit), -2 all but one,
        and so on. Without OpenMP in the build the path runs on one thread.
        See :ref:`scaling`. Not in scikit-learn's MLP.
"""

FIT_DOC = """Fit the model to data matrix X and target(s) y.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The input data.

    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        The target values (class labels in classification, real numbers in
        regression).

    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    X_val : {array-like, sparse matrix} of shape (n_val, n_features), default=None
        Validation data for early stopping, instead of holding out
        ``validation_fraction`` of X: the model trains on all of X, and
        ``validation_scores_`` are computed on ``(X_val, y_val)``. Needs
        ``early_stopping=True`` and solver 'sgd' or 'adam'. In a
        ``Pipeline``, ``X_val`` can be transformed the same way as ``X``
        with ``Pipeline(..., transform_input=["X_val"])``. Not in
        scikit-learn's MLP (the name and meaning are those of
        ``HistGradientBoostingClassifier.fit``).

    y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
        The targets of ``X_val``.

    sample_weight_val : array-like of shape (n_val,), default=None
        Weights of the validation samples in the validation score (as
        given: ``class_weight`` multiplies the training weights only).

    Returns
    -------
    self : object
        Returns a trained MLP model.
    """

ATTRIBUTES_DOC = """
    loss_ : float
        The current loss computed with the loss function.

    best_loss_ : float or None
        The minimum loss reached by the solver throughout fitting (None with
        early stopping, where ``best_validation_score_`` is used instead).

    loss_curve_ : list of shape (`n_iter_`,)
        The loss at the end of each epoch (stochastic solvers only).

    validation_scores_ : list of shape (`n_iter_`,) or None
        The validation score (``scoring``) at each epoch, on the held-out
        part of the training data or on the ``X_val`` and ``y_val`` given
        to ``fit``, with ``early_stopping=True``; None otherwise.

    best_validation_score_ : float or None
        The best validation score, with ``early_stopping=True``.

    t_ : int
        The number of training samples seen by the solver during fitting.

    coefs_ : list of shape (n_layers - 1,)
        The ith element is the weight matrix between layer i and layer i + 1.
        These are views into one flat parameter buffer.

    intercepts_ : list of shape (n_layers - 1,)
        The ith element is the bias vector of layer i + 1 (views too).

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.

    n_iter_ : int
        The number of iterations the solver ran in the last call.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of outputs.

    out_activation_ : str
        Name of the output activation function.

    prelu_slopes_ : list of (ndarray or None)
        Learned slope per unit of each 'prelu' hidden layer, None for the
        others (views into the flat parameter buffer).

    batch_norm_scale_, batch_norm_shift_ : list of (ndarray or None)
        Learned scale and shift of each hidden layer with ``batch_norm``.

    batch_norm_running_mean_, batch_norm_running_var_ : list of (ndarray or None)
        Running statistics used by batch normalization at prediction.

    gradient_norms_ : ndarray of shape (n_epochs, `n_layers_` - 1)
        For each epoch recorded in ``loss_curve_`` (each iteration for
        'lbfgs'), the mean over batches of the L2 norm of the loss gradient
        with respect to each layer's weight matrix; first column = the layer
        nearest the input. Shows vanishing gradients directly.
"""


def hand_set_weights(coefs, intercepts, units):
    """(coefs, intercepts) a user assigned to an unfitted estimator, as lists,
    if their shapes fit the network ``units``."""
    coefs, intercepts = list(coefs), list(intercepts)
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


def output_activation(loss, label_binarizer=None):
    """scikit-learn's output activation: a classifier's (``label_binarizer``
    given) softmax for multiclass y, else logistic; a regressor's identity,
    or exp for the Poisson loss."""
    if label_binarizer is None:
        return "exp" if loss == "poisson" else "identity"
    return "softmax" if label_binarizer.y_type_ == "multiclass" else "logistic"
