"""The experiments shown by ``python -m cymlp demo`` and by the gallery.

Each experiment is written once, as two functions: ``fit_<name>(quick=False)``
makes its data, trains the networks and returns a result dict whose
``scores`` are ``{subject: {metric: value}}``; ``plot_<name>(result,
pyplot=True)`` draws the result and returns the matplotlib ``Figure``. The
demo (:mod:`cymlp._demo`) saves the figures as PNGs and prints the scores;
each gallery script (``docs/examples/``) calls the same two functions.

Every fit runs on one BLAS thread with ``ConvergenceWarning`` silenced (some
fits stop at ``max_iter`` on purpose; the networks are small, and a threaded
BLAS would mostly wait). Only cymlp's public API is used; matplotlib is
imported when drawing, so cymlp itself does not depend on it.
"""

import functools
import time
import warnings

import numpy as np

# Colours shared by the figures: class 0, class 1, hidden units.
_CLASS_COLORS = ("#d62728", "#1f77b4")
_UNIT_COLORS = ("#2ca02c", "#ff7f0e")
_ACTIVATION_COLORS = {
    "logistic": "#d62728",
    "tanh": "#9467bd",
    "relu": "#1f77b4",
    "leaky_relu": "#2ca02c",
}


def _quiet_single_thread(fit):
    """Run ``fit`` on one BLAS thread with ConvergenceWarning silenced."""

    @functools.wraps(fit)
    def wrapper(*args, **kwargs):
        from sklearn.exceptions import ConvergenceWarning
        from threadpoolctl import threadpool_limits

        with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
            warnings.simplefilter("ignore", ConvergenceWarning)
            return fit(*args, **kwargs)

    return wrapper


def new_figure(width, height, ncols=1, nrows=1, pyplot=True):
    """A figure with a grid of axes, from pyplot or off-screen.

    Parameters
    ----------
    width, height : float
        Size in inches.
    ncols, nrows : int, default=1
        The grid of axes.
    pyplot : bool, default=True
        Create the figure through ``matplotlib.pyplot`` (so notebooks and
        sphinx-gallery show it); otherwise a bare ``Figure`` that no figure
        manager holds, for writing to a file.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : ndarray of Axes
        Flat, row by row.
    """
    if pyplot:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(width, height), layout="constrained")
    else:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    return fig, axes


def available_activations():
    """The hidden activations of the vanishing-gradients experiment.

    Returns
    -------
    activations : list of str
        ``logistic``, ``tanh``, ``relu`` and, when cymlp supports it,
        ``leaky_relu``.
    """
    from . import MLPClassifier

    wanted = ["logistic", "tanh", "relu", "leaky_relu"]
    constraint = MLPClassifier._parameter_constraints["activation"][0]
    options = getattr(constraint, "options", None)
    if options is None:
        return wanted[:3]
    return [name for name in wanted if name in options]


def _line_through_box(ax, w, b, lo, hi, **kwargs):
    """Draw the line ``w[0]*x + w[1]*y + b = 0`` across the box [lo, hi]^2."""
    w = np.asarray(w, dtype=float)
    norm2 = float(w @ w)
    if norm2 == 0.0:
        return
    point = -b * w / norm2
    direction = np.array([-w[1], w[0]]) / np.sqrt(norm2)
    span = 4 * (hi - lo) + np.abs(point).sum()
    ends = point + np.outer([-span, span], direction)
    ax.plot(ends[:, 0], ends[:, 1], **kwargs)


# ----------------------------------------------------------------------
# Classification: AND, XOR, circles
# ----------------------------------------------------------------------

# Seeds chosen once: XOR with two hidden units has poor local minima, and
# this seed is one that reaches the exact solution.
_XOR_SEED = 1
_CIRCLES_SEED = 0


@_quiet_single_thread
def fit_classification(quick=False):
    """Universal approximation for classes: AND, XOR and concentric circles.

    AND is linearly separable, so a network with no hidden layer (logistic
    regression) fits it; XOR is not, and needs a hidden layer -- two tanh
    units are enough; two concentric circles need a closed boundary, which
    four tanh units draw.

    Parameters
    ----------
    quick : bool, default=False
        Unused (the experiment is already fast); kept for a uniform signature.

    Returns
    -------
    result : dict
        ``scores`` (the accuracies of ``and`` and ``xor`` on their four
        points and of ``circles`` on held-out points), the three fitted
        networks and their data.
    """
    from sklearn.datasets import make_circles
    from sklearn.model_selection import train_test_split

    from . import MLPClassifier

    X_bool = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y_and = np.array([0, 0, 0, 1])
    y_xor = np.array([0, 1, 1, 0])

    and_net = MLPClassifier(
        hidden_layer_sizes=(), solver="lbfgs", max_iter=1000, random_state=0
    ).fit(X_bool, y_and)
    xor_net = MLPClassifier(
        hidden_layer_sizes=(2,),
        activation="tanh",
        solver="lbfgs",
        max_iter=1000,
        random_state=_XOR_SEED,
    ).fit(X_bool, y_xor)

    # 600 points: at 300, four tanh units land in a poor local minimum for 2
    # of 10 seeds (scikit-learn too), so the score would hang on rounding.
    X_c, y_c = make_circles(
        n_samples=600, noise=0.08, factor=0.5, random_state=_CIRCLES_SEED
    )
    X_train, X_test, y_train, y_test = train_test_split(
        X_c, y_c, test_size=0.3, random_state=0, stratify=y_c
    )
    circles_net = MLPClassifier(
        hidden_layer_sizes=(4,),
        activation="tanh",
        solver="lbfgs",
        max_iter=2000,
        random_state=_CIRCLES_SEED,
    ).fit(X_train, y_train)

    return {
        "scores": {
            "and": {"accuracy": and_net.score(X_bool, y_and)},
            "xor": {"accuracy": xor_net.score(X_bool, y_xor)},
            "circles": {"accuracy": circles_net.score(X_test, y_test)},
        },
        "panels": [
            ("AND, no hidden layer", "and", and_net, X_bool, y_and, ""),
            ("XOR, 1 hidden layer of 2", "xor", xor_net, X_bool, y_xor, ""),
            ("circles, 1 hidden layer of 4", "circles", circles_net, X_test,
             y_test, " (held out)"),
        ],
        "xor": (xor_net, X_bool, y_xor),
    }


def plot_decision_boundaries(result, pyplot=True):
    """Draw the AND, XOR and circles decision boundaries side by side.

    Parameters
    ----------
    result : dict
        As returned by :func:`fit_classification`.
    pyplot : bool, default=True
        See :func:`new_figure`.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    from sklearn.inspection import DecisionBoundaryDisplay

    fig, axes = new_figure(13, 4.4, ncols=3, pyplot=pyplot)
    for ax, (title, key, net, X, y, suffix) in zip(axes, result["panels"]):
        boolean = len(X) == 4
        eps = 0.5 if boolean else 0.3
        DecisionBoundaryDisplay.from_estimator(
            net, X, response_method="predict_proba", grid_resolution=200,
            eps=eps, cmap="RdBu", alpha=0.55, vmin=0, vmax=1, ax=ax,
            xlabel="$x_1$", ylabel="$x_2$",
        )
        DecisionBoundaryDisplay.from_estimator(
            net, X, response_method="predict_proba", grid_resolution=200,
            eps=eps, plot_method="contour", levels=[0.5], colors="k",
            linewidths=1.5, ax=ax,
        )
        size = 90 if boolean else 14
        for label in (0, 1):
            mask = y == label
            ax.scatter(X[mask, 0], X[mask, 1], s=size, c=_CLASS_COLORS[label],
                       edgecolors="k", linewidths=0.6, label=f"class {label}")
        accuracy = result["scores"][key]["accuracy"]
        ax.set_title(f"{title}\naccuracy {accuracy:.1%}{suffix}")
        ax.set_aspect("equal")
    axes[0].legend(loc="upper left", fontsize=8)
    fig.suptitle("Decision boundaries (shading: P(class 1), black: 0.5 level)")
    return fig


def plot_xor_hidden(result, pyplot=True):
    """Draw how XOR's two hidden units make the problem linearly separable.

    Left: the two hidden units' lines in input space. Right: the four points
    as the hidden layer maps them, where the output unit separates them with
    one line.

    Parameters
    ----------
    result : dict
        As returned by :func:`fit_classification`.
    pyplot : bool, default=True
        See :func:`new_figure`.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    from sklearn.inspection import DecisionBoundaryDisplay

    xor_net, X_bool, y_xor = result["xor"]
    fig, (ax_in, ax_hid) = new_figure(10, 4.8, ncols=2, pyplot=pyplot)
    lo, hi = -0.5, 1.5
    DecisionBoundaryDisplay.from_estimator(
        xor_net, X_bool, response_method="predict_proba", grid_resolution=200,
        eps=0.5, cmap="RdBu", alpha=0.35, vmin=0, vmax=1, ax=ax_in,
        xlabel="$x_1$", ylabel="$x_2$",
    )
    W1, b1 = xor_net.coefs_[0], xor_net.intercepts_[0]
    for j in range(W1.shape[1]):
        _line_through_box(
            ax_in, W1[:, j], b1[j], lo, hi, color=_UNIT_COLORS[j], lw=2.5,
            label=f"hidden unit {j + 1}: "
                  f"{W1[0, j]:+.1f}$x_1$ {W1[1, j]:+.1f}$x_2$ {b1[j]:+.1f} = 0",
        )
    for label in (0, 1):
        mask = y_xor == label
        ax_in.scatter(X_bool[mask, 0], X_bool[mask, 1], s=110,
                      c=_CLASS_COLORS[label], edgecolors="k", zorder=3,
                      label=f"XOR = {label}")
    ax_in.set_xlim(lo, hi)
    ax_in.set_ylim(lo, hi)
    ax_in.set_aspect("equal")
    ax_in.legend(loc="upper center", fontsize=7.5, framealpha=0.9)
    ax_in.set_title("input space: each hidden unit draws a line")

    H = xor_net.hidden_activations(X_bool)[0]
    W2, b2 = xor_net.coefs_[1][:, 0], xor_net.intercepts_[1][0]
    grid = np.linspace(-1.15, 1.15, 200)
    g1, g2 = np.meshgrid(grid, grid)
    side = W2[0] * g1 + W2[1] * g2 + b2
    ax_hid.contourf(g1, g2, 1 / (1 + np.exp(-side)), levels=20, cmap="RdBu",
                    alpha=0.35, vmin=0, vmax=1)
    _line_through_box(ax_hid, W2, b2, -1.15, 1.15, color="k", lw=1.5,
                      label="output unit: P = 0.5")
    for label in (0, 1):
        mask = y_xor == label
        ax_hid.scatter(H[mask, 0], H[mask, 1], s=110, c=_CLASS_COLORS[label],
                       edgecolors="k", zorder=3, label=f"XOR = {label}")
    # Inputs the hidden layer maps to the same place share one label.
    groups = []
    for (x1, x2), h in zip(X_bool, H):
        for anchor, labels in groups:
            if np.abs(anchor - h).max() < 0.15:
                labels.append(f"({x1:.0f}, {x2:.0f})")
                break
        else:
            groups.append((h, [f"({x1:.0f}, {x2:.0f})"]))
    for (h1, h2), labels in groups:
        ax_hid.annotate(
            " and ".join(labels), (h1, h2), textcoords="offset points",
            xytext=(0, -16 if h2 > 0 else 10), ha="left" if h1 < 0 else "right",
            fontsize=8,
        )
    ax_hid.set_xlim(-1.15, 1.15)
    ax_hid.set_ylim(-1.15, 1.15)
    ax_hid.set_aspect("equal")
    ax_hid.set_xlabel("hidden unit 1 (tanh)")
    ax_hid.set_ylabel("hidden unit 2 (tanh)")
    ax_hid.legend(loc="lower right", fontsize=7.5, framealpha=0.9)
    ax_hid.set_title("hidden space: now linearly separable")
    fig.suptitle(
        f"XOR with 2 hidden units, accuracy "
        f"{result['scores']['xor']['accuracy']:.0%}"
    )
    return fig


# ----------------------------------------------------------------------
# Regression: x**2, 1/x, sin x
# ----------------------------------------------------------------------


def _function_tasks():
    """The regression tasks: name, label, function, train and test inputs.

    ``1/x`` on [1, 100] is sampled log-spaced, so the steep part near 1 is as
    well covered as the flat tail; the test points lie between the training
    points.
    """
    def between(grid):
        return (grid[:-1] + grid[1:]) / 2

    square = np.linspace(-1, 1, 60)
    inverse = np.geomspace(1, 100, 60)
    sine = np.linspace(1, 2 * np.pi, 60)
    return [
        ("square", "$x^2$ on [-1, 1]", np.square, square,
         np.linspace(-1, 1, 301)),
        ("inverse", "$1/x$ on [1, 100] (log-spaced)", np.reciprocal, inverse,
         np.exp(between(np.log(inverse)))),
        ("sine", "$\\sin x$ on [1, 2$\\pi$]", np.sin, sine,
         np.linspace(1, 2 * np.pi, 301)),
    ]


@_quiet_single_thread
def fit_regression(quick=False):
    """Universal approximation for functions: ``x**2``, ``1/x`` and ``sin x``.

    One hidden layer of 10 tanh units fits each function; inputs and targets
    are standardized (a :class:`~sklearn.pipeline.Pipeline` with a
    :class:`~sklearn.preprocessing.StandardScaler`, inside a
    :class:`~sklearn.compose.TransformedTargetRegressor`).

    Parameters
    ----------
    quick : bool, default=False
        Unused (the experiment is already fast); kept for a uniform signature.

    Returns
    -------
    result : dict
        ``scores`` (``{name: {"r2": value}}`` for ``square``, ``inverse`` and
        ``sine``, each R² on held-out points) and ``curves``, what the plot
        draws.
    """
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.metrics import r2_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from . import MLPRegressor

    scores, curves = {}, []
    for name, label, f, x_train, x_test in _function_tasks():
        net = MLPRegressor(
            hidden_layer_sizes=(10,), activation="tanh", solver="lbfgs",
            max_iter=2000, tol=1e-6, random_state=0,
        )
        model = TransformedTargetRegressor(
            regressor=make_pipeline(StandardScaler(), net),
            transformer=StandardScaler(),
        ).fit(x_train[:, None], f(x_train))
        y_pred = model.predict(x_test[:, None])
        scores[name] = {"r2": r2_score(f(x_test), y_pred)}
        curves.append((name, label, f, x_train, x_test, y_pred))
    return {"scores": scores, "curves": curves}


def plot_regression(result, pyplot=True):
    """Draw each function's fit over the truth.

    Parameters
    ----------
    result : dict
        As returned by :func:`fit_regression`.
    pyplot : bool, default=True
        See :func:`new_figure`.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    fig, axes = new_figure(13, 4, ncols=3, pyplot=pyplot)
    for ax, (name, label, f, x_train, x_test, y_pred) in zip(axes, result["curves"]):
        ax.plot(x_test, f(x_test), color="0.6", lw=5, label="truth")
        ax.plot(x_test, y_pred, color="#d62728", lw=1.8, label="network")
        ax.scatter(x_train, f(x_train), s=8, color="k", zorder=3,
                   label="training points")
        if name == "inverse":
            ax.set_xscale("log")
        ax.set_xlabel("$x$")
        r2 = result["scores"][name]["r2"]
        ax.set_title(f"{label}\n$R^2$ = {r2:.5f} (held out)")
        ax.legend(fontsize=8)
    fig.suptitle("Regression with one hidden layer of 10 tanh units")
    return fig


# ----------------------------------------------------------------------
# Vanishing gradients
# ----------------------------------------------------------------------

_DEPTH = 10
_WIDTH = 32
_EARLY_EPOCHS = 5


@_quiet_single_thread
def fit_vanishing_gradients(quick=False):
    """Gradient norms per layer of ten-hidden-layer networks, by activation.

    The same network -- 10 hidden layers of 32 units, Adam -- is trained with
    each hidden activation. Backpropagation multiplies the gradient by the
    activation's derivative once per layer; the logistic's is at most 1/4,
    so the gradient reaching the layers near the input is orders of
    magnitude smaller than at the output and those layers barely learn (the
    loss stays at log 2). Relu's derivative is 1 where it is active, and the
    gradient keeps its size.

    Parameters
    ----------
    quick : bool, default=False
        Use fewer samples and epochs.

    Returns
    -------
    result : dict
        ``scores``: for each activation, ``grad_first`` and ``grad_last``
        (the mean norm of the loss gradient w.r.t. the first hidden layer's
        and the output layer's weights over the first epochs),
        ``grad_ratio`` (last / first), the final training ``loss`` and
        ``accuracy``; ``nets``: the fitted networks and their early gradient
        norms.
    """
    from sklearn.datasets import make_classification
    from sklearn.preprocessing import StandardScaler

    from . import MLPClassifier

    n_samples, epochs = (600, 25) if quick else (1500, 60)
    X, y = make_classification(
        n_samples=n_samples, n_features=10, n_informative=6, random_state=0
    )
    X = StandardScaler().fit_transform(X)

    scores, nets = {}, {}
    for activation in available_activations():
        net = MLPClassifier(
            hidden_layer_sizes=(_WIDTH,) * _DEPTH, activation=activation,
            solver="adam", learning_rate_init=1e-3, max_iter=epochs,
            n_iter_no_change=epochs, random_state=0,
        ).fit(X, y)
        early = net.gradient_norms_[:_EARLY_EPOCHS].mean(axis=0)
        nets[activation] = (net, early)
        scores[activation] = {
            "grad_first": early[0],
            "grad_last": early[-1],
            "grad_ratio": early[-1] / early[0],
            "loss": net.loss_curve_[-1],
            "accuracy": net.score(X, y),
        }
    return {"scores": scores, "nets": nets}


def plot_vanishing_gradients(result, pyplot=True):
    """Draw the early gradient norm of each layer and the loss curves.

    Parameters
    ----------
    result : dict
        As returned by :func:`fit_vanishing_gradients`.
    pyplot : bool, default=True
        See :func:`new_figure`.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    scores = result["scores"]
    fig, (ax_g, ax_l) = new_figure(12, 4.6, ncols=2, pyplot=pyplot)
    layers = np.arange(1, _DEPTH + 2)
    for activation, (net, early) in result["nets"].items():
        color = _ACTIVATION_COLORS.get(activation)
        ratio = scores[activation]["grad_ratio"]
        ax_g.plot(layers, early, "o-", color=color,
                  label=f"{activation} (output / first = {ratio:,.3g}x)")
        ax_l.plot(np.arange(1, len(net.loss_curve_) + 1), net.loss_curve_,
                  color=color, lw=2,
                  label=f"{activation} (accuracy {scores[activation]['accuracy']:.1%})")
    ax_g.set_yscale("log")
    ax_g.set_xticks(layers, [str(i) for i in layers[:-1]] + ["out"])
    ax_g.set_xlabel("weight matrix (1 = nearest the input)")
    ax_g.set_ylabel(f"gradient norm, mean of epochs 1-{_EARLY_EPOCHS}")
    ax_g.set_title("gradient reaching each layer")
    ax_g.legend(fontsize=8)
    ax_l.axhline(np.log(2), color="0.5", ls="--", lw=1, label="log 2 (chance)")
    ax_l.set_xlabel("epoch")
    ax_l.set_ylabel("training log-loss")
    ax_l.set_title("loss curves")
    ax_l.legend(fontsize=8)
    fig.suptitle(
        f"Vanishing gradients: {_DEPTH} hidden layers of {_WIDTH} units, Adam"
    )
    return fig


# ----------------------------------------------------------------------
# Speed against scikit-learn
# ----------------------------------------------------------------------


@_quiet_single_thread
def fit_speed(quick=False, repeats=2):
    """Fit time of cymlp against scikit-learn's MLP, same parameters and seed.

    Workload: a 3-class :func:`~sklearn.datasets.make_classification` problem
    with 20 features, one hidden layer of 100 relu units, Adam, a fixed
    number of epochs. Each fit is timed ``repeats`` times and the fastest is
    kept.

    Parameters
    ----------
    quick : bool, default=False
        Use fewer samples and epochs.
    repeats : int, default=2
        Fits per library.

    Returns
    -------
    result : dict
        ``scores``: ``{"speed": {...}}`` with ``cymlp_seconds``,
        ``sklearn_seconds``, ``ratio`` (sklearn time / cymlp time) and
        ``max_coef_diff``, the largest absolute difference between the two
        models' weights; and the workload (``n_samples``, ``epochs``,
        ``repeats``).
    """
    from sklearn.datasets import make_classification
    from sklearn.neural_network import MLPClassifier as SkMLPClassifier

    from . import MLPClassifier

    n_samples, epochs = (10000, 10) if quick else (20000, 20)
    X, y = make_classification(
        n_samples=n_samples, n_features=20, n_informative=10, n_classes=3,
        random_state=0,
    )
    params = dict(hidden_layer_sizes=(100,), max_iter=epochs, random_state=0)

    def best_time(cls):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model = cls(**params).fit(X, y)
            times.append(time.perf_counter() - start)
        return min(times), model

    t_cy, cy = best_time(MLPClassifier)
    t_sk, sk = best_time(SkMLPClassifier)
    diff = max(
        float(np.max(np.abs(a - b)))
        for a, b in zip(cy.coefs_ + cy.intercepts_, sk.coefs_ + sk.intercepts_)
    )
    return {
        "scores": {
            "speed": {
                "cymlp_seconds": t_cy,
                "sklearn_seconds": t_sk,
                "ratio": t_sk / t_cy,
                "max_coef_diff": diff,
            }
        },
        "n_samples": n_samples,
        "epochs": epochs,
        "repeats": repeats,
    }


def plot_speed(result, pyplot=True):
    """Draw the two fit times as a bar chart.

    Parameters
    ----------
    result : dict
        As returned by :func:`fit_speed`.
    pyplot : bool, default=True
        See :func:`new_figure`.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    speed = result["scores"]["speed"]
    t_cy, t_sk = speed["cymlp_seconds"], speed["sklearn_seconds"]
    fig, (ax,) = new_figure(5.5, 4, pyplot=pyplot)
    bars = ax.bar(["scikit-learn", "cymlp"], [t_sk, t_cy],
                  color=["#7f7f7f", "#1f77b4"], width=0.6)
    ax.bar_label(bars, labels=[f"{t_sk:.2f} s", f"{t_cy:.2f} s"], padding=3)
    ax.set_ylabel(f"fit time (s), best of {result['repeats']}")
    ax.set_ylim(0, 1.18 * max(t_sk, t_cy))
    ax.set_title(
        f"MLPClassifier fit: cymlp is {t_sk / t_cy:.1f}x faster\n"
        f"{result['n_samples']} x 20, 3 classes, hidden (100,), adam, "
        f"{result['epochs']} epochs, 1 BLAS thread",
        fontsize=10,
    )
    return fig
