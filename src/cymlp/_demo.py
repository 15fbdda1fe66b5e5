"""The ``python -m cymlp demo`` command: four small experiments with figures.

This module holds the demo's experiments, one function each, and the command
line that runs them:

1. :func:`classification` -- universal approximation for classes: AND with no
   hidden layer, XOR with two hidden units, concentric circles with four.
2. :func:`regression` -- universal approximation for functions: ``x**2``,
   ``1/x`` and ``sin x`` on an interval each.
3. :func:`vanishing_gradients` -- per-layer gradient norms of ten-hidden-layer
   networks with logistic, tanh, relu (and leaky_relu when available) units.
4. :func:`speed` -- fit time of cymlp against scikit-learn's MLP on one
   workload, with the same parameters and seed.

Each experiment writes one or two PNG figures and returns its scores;
:func:`run` runs them all and returns a summary, :func:`format_summary` turns
it into the stable stdout report (lines ``<subject> <metric> <value>``, ``#``
for comments) and :func:`main` is the command line.

The demo uses only cymlp's public API, makes its own data, is deterministic
(fixed ``random_state`` everywhere) and imports matplotlib lazily, so cymlp
itself does not depend on it (install ``cymlp[demo]``).
"""

import argparse
import os
import sys
import tempfile
import time
import warnings

import numpy as np

DEFAULT_OUT = "cymlp-demo"
DPI = 100

# Colours shared by the figures: class 0, class 1, hidden units.
_CLASS_COLORS = ("#d62728", "#1f77b4")
_UNIT_COLORS = ("#2ca02c", "#ff7f0e")
_ACTIVATION_COLORS = {
    "logistic": "#d62728",
    "tanh": "#9467bd",
    "relu": "#1f77b4",
    "leaky_relu": "#2ca02c",
}


class DemoError(Exception):
    """A problem the demo reports as one line on stderr (no traceback)."""


# ----------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------


def _matplotlib():
    """Import matplotlib for off-screen (Agg) rendering.

    Returns
    -------
    Figure : type
        ``matplotlib.figure.Figure``, used directly so no pyplot window or
        global figure list is involved.

    Raises
    ------
    DemoError
        If matplotlib is not installed.
    """
    try:
        import matplotlib
    except ImportError:
        raise DemoError(
            "the demo needs matplotlib, which is not installed; "
            "install it with: pip install 'cymlp[demo]'"
        ) from None
    if "matplotlib.pyplot" not in sys.modules:
        # Scikit-learn's displays import pyplot; keep it off-screen.
        matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure


def _new_figure(width, height, ncols=1, nrows=1):
    """A figure and its axes (a flat array when there are several)."""
    Figure = _matplotlib()
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    return fig, axes


def _save(fig, out_dir, name):
    """Write ``fig`` as ``out_dir/name`` (PNG) and return the path."""
    path = os.path.join(out_dir, name)
    fig.savefig(path, dpi=DPI)
    return path


def prepare_out_dir(out_dir):
    """Create ``out_dir`` if needed and check that files can be written in it.

    Parameters
    ----------
    out_dir : str or path-like
        The directory for the figures.

    Returns
    -------
    out_dir : str
        The same directory, as a string.

    Raises
    ------
    DemoError
        If the directory cannot be created or written to (for instance a path
        below a regular file, or a read-only directory).
    """
    out_dir = os.fspath(out_dir)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise DemoError(
            f"cannot write figures to output directory {out_dir!r}: "
            "it exists and is not a directory"
        )
    try:
        os.makedirs(out_dir, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise DemoError(
            f"cannot write figures to output directory {out_dir!r}: {reason}"
        ) from None
    return out_dir


def available_activations():
    """The hidden activations of experiment 3 that this cymlp accepts.

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
# Experiment 1: classification
# ----------------------------------------------------------------------

# Seeds chosen once: XOR with two hidden units has poor local minima, and
# this seed is one that reaches the exact solution.
_XOR_SEED = 1
_CIRCLES_SEED = 0


def classification(out_dir, quick=False):
    """Universal approximation for classes: AND, XOR and concentric circles.

    AND is linearly separable, so a network with no hidden layer (logistic
    regression) fits it; XOR is not, and needs a hidden layer -- two tanh
    units are enough; two concentric circles need a closed boundary, which
    four tanh units draw. Figures: the three decision boundaries
    (``classification.png``) and XOR's hidden layer (``xor_hidden.png``): the
    two hidden units' lines in input space and the points as the hidden layer
    maps them, where the output unit separates them with one line.

    Parameters
    ----------
    out_dir : str
        Where to write the figures.
    quick : bool, default=False
        Unused (the experiment is already fast); kept for a uniform signature.

    Returns
    -------
    scores : dict
        ``{subject: {metric: value}}`` with the accuracies of ``and`` and
        ``xor`` on their four points and of ``circles`` on held-out points,
        and ``figures``, the paths written.
    """
    from sklearn.datasets import make_circles
    from sklearn.inspection import DecisionBoundaryDisplay
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
    n_circles = 600
    X_c, y_c = make_circles(
        n_samples=n_circles, noise=0.08, factor=0.5, random_state=_CIRCLES_SEED
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

    scores = {
        "and": {"accuracy": and_net.score(X_bool, y_and)},
        "xor": {"accuracy": xor_net.score(X_bool, y_xor)},
        "circles": {"accuracy": circles_net.score(X_test, y_test)},
    }

    # Figure 1: the three decision boundaries.
    fig, axes = _new_figure(13, 4.4, ncols=3)
    panels = [
        ("AND, no hidden layer", and_net, X_bool, y_and, scores["and"]),
        ("XOR, 1 hidden layer of 2", xor_net, X_bool, y_xor, scores["xor"]),
        ("circles, 1 hidden layer of 4", circles_net, X_test, y_test,
         scores["circles"]),
    ]
    for ax, (title, net, X, y, score) in zip(axes, panels):
        eps = 0.5 if X is X_bool else 0.3
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
        size = 90 if X is X_bool else 14
        for label in (0, 1):
            mask = y == label
            ax.scatter(X[mask, 0], X[mask, 1], s=size, c=_CLASS_COLORS[label],
                       edgecolors="k", linewidths=0.6, label=f"class {label}")
        suffix = " (held out)" if X is X_test else ""
        ax.set_title(f"{title}\naccuracy {score['accuracy']:.1%}{suffix}")
        ax.set_aspect("equal")
    axes[0].legend(loc="upper left", fontsize=8)
    fig.suptitle("Decision boundaries (shading: P(class 1), black: 0.5 level)")
    figures = [_save(fig, out_dir, "classification.png")]

    # Figure 2: how XOR's hidden layer makes the problem linear.
    fig, (ax_in, ax_hid) = _new_figure(10, 4.8, ncols=2)
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
        f"XOR with 2 hidden units, accuracy {scores['xor']['accuracy']:.0%}"
    )
    figures.append(_save(fig, out_dir, "xor_hidden.png"))
    scores["figures"] = figures
    return scores


# ----------------------------------------------------------------------
# Experiment 2: regression
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


def regression(out_dir, quick=False):
    """Universal approximation for functions: ``x**2``, ``1/x`` and ``sin x``.

    One hidden layer of 10 tanh units fits each function; inputs and targets
    are standardized (a :class:`~sklearn.pipeline.Pipeline` with a
    :class:`~sklearn.preprocessing.StandardScaler`, inside a
    :class:`~sklearn.compose.TransformedTargetRegressor`). Writes
    ``regression.png``: each fit over the truth.

    Parameters
    ----------
    out_dir : str
        Where to write the figure.
    quick : bool, default=False
        Unused (the experiment is already fast); kept for a uniform signature.

    Returns
    -------
    scores : dict
        ``{name: {"r2": value}}`` for ``square``, ``inverse`` and ``sine``,
        each R² on held-out points, and ``figures``.
    """
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.metrics import r2_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from . import MLPRegressor

    scores = {}
    fig, axes = _new_figure(13, 4, ncols=3)
    for ax, (name, label, f, x_train, x_test) in zip(axes, _function_tasks()):
        net = MLPRegressor(
            hidden_layer_sizes=(10,), activation="tanh", solver="lbfgs",
            max_iter=2000, tol=1e-6, random_state=0,
        )
        model = TransformedTargetRegressor(
            regressor=make_pipeline(StandardScaler(), net),
            transformer=StandardScaler(),
        ).fit(x_train[:, None], f(x_train))
        y_pred = model.predict(x_test[:, None])
        r2 = r2_score(f(x_test), y_pred)
        scores[name] = {"r2": r2}

        ax.plot(x_test, f(x_test), color="0.6", lw=5, label="truth")
        ax.plot(x_test, y_pred, color="#d62728", lw=1.8, label="network")
        ax.scatter(x_train, f(x_train), s=8, color="k", zorder=3,
                   label="training points")
        if name == "inverse":
            ax.set_xscale("log")
        ax.set_xlabel("$x$")
        ax.set_title(f"{label}\n$R^2$ = {r2:.5f} (held out)")
        ax.legend(fontsize=8)
    fig.suptitle("Regression with one hidden layer of 10 tanh units")
    scores["figures"] = [_save(fig, out_dir, "regression.png")]
    return scores


# ----------------------------------------------------------------------
# Experiment 3: vanishing gradients
# ----------------------------------------------------------------------

_DEPTH = 10
_WIDTH = 32
_EARLY_EPOCHS = 5


def vanishing_gradients(out_dir, quick=False):
    """Gradient norms per layer of ten-hidden-layer networks.

    The same network -- 10 hidden layers of 32 units, Adam -- is trained with
    each hidden activation. Backpropagation multiplies the gradient by the
    activation's derivative once per layer; the logistic's is at most 1/4,
    so the gradient reaching the layers near the input is orders of magnitude
    smaller than at the output and those layers barely learn (the loss stays
    at log 2). Relu's derivative is 1 where it is active, and the gradient
    keeps its size. Writes ``vanishing_gradients.png``: the mean gradient
    norm of each weight matrix over the first epochs, against depth, and the
    loss curves.

    Parameters
    ----------
    out_dir : str
        Where to write the figure.
    quick : bool, default=False
        Use fewer samples and epochs.

    Returns
    -------
    scores : dict
        For each activation, ``grad_first`` and ``grad_last`` (the mean norm
        of the loss gradient w.r.t. the first hidden layer's and the output
        layer's weights over the first epochs), ``grad_ratio`` (last / first),
        the final training ``loss`` and ``accuracy``; and ``figures``.
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

    fig, (ax_g, ax_l) = _new_figure(12, 4.6, ncols=2)
    layers = np.arange(1, _DEPTH + 2)
    for activation, (net, early) in nets.items():
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
    scores["figures"] = [_save(fig, out_dir, "vanishing_gradients.png")]
    return scores


# ----------------------------------------------------------------------
# Experiment 4: speed
# ----------------------------------------------------------------------


def speed(out_dir, quick=False, repeats=2):
    """Fit time of cymlp against scikit-learn's MLP, same parameters and seed.

    Workload: a 3-class :func:`~sklearn.datasets.make_classification` problem
    with 20 features, one hidden layer of 100 relu units, Adam, a fixed
    number of epochs. Each fit is timed ``repeats`` times and the fastest is
    kept. Writes ``speed.png``, a bar chart.

    Parameters
    ----------
    out_dir : str
        Where to write the figure.
    quick : bool, default=False
        Use fewer samples and epochs.
    repeats : int, default=2
        Fits per library.

    Returns
    -------
    scores : dict
        ``{"speed": {...}}`` with ``cymlp_seconds``, ``sklearn_seconds``,
        ``ratio`` (sklearn time / cymlp time) and ``max_coef_diff``, the
        largest absolute difference between the two models' weights; and
        ``figures``.
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
    scores = {
        "speed": {
            "cymlp_seconds": t_cy,
            "sklearn_seconds": t_sk,
            "ratio": t_sk / t_cy,
            "max_coef_diff": diff,
        }
    }

    fig, (ax,) = _new_figure(5.5, 4)
    bars = ax.bar(["scikit-learn", "cymlp"], [t_sk, t_cy],
                  color=["#7f7f7f", "#1f77b4"], width=0.6)
    ax.bar_label(bars, labels=[f"{t_sk:.2f} s", f"{t_cy:.2f} s"], padding=3)
    ax.set_ylabel("fit time (s), best of %d" % repeats)
    ax.set_ylim(0, 1.18 * max(t_sk, t_cy))
    ax.set_title(
        f"MLPClassifier fit: cymlp is {t_sk / t_cy:.1f}x faster\n"
        f"{n_samples} x 20, 3 classes, hidden (100,), adam, {epochs} epochs, "
        f"1 BLAS thread",
        fontsize=10,
    )
    scores["figures"] = [_save(fig, out_dir, "speed.png")]
    return scores


# ----------------------------------------------------------------------
# Running everything
# ----------------------------------------------------------------------

EXPERIMENTS = [
    ("classification", "AND, XOR and circles", classification),
    ("regression", "x^2, 1/x and sin x", regression),
    ("vanishing_gradients", "10 hidden layers, gradient norm per layer",
     vanishing_gradients),
    ("speed", "cymlp against scikit-learn, fit time", speed),
]


def theory_checks(scores):
    """What the experiments are meant to show, checked against their scores.

    Parameters
    ----------
    scores : dict
        ``{subject: {metric: value}}`` as collected by :func:`run`.

    Returns
    -------
    checks : dict
        ``{name: bool}``.
    """
    checks = {
        "and_perfect": scores["and"]["accuracy"] == 1.0,
        "xor_perfect": scores["xor"]["accuracy"] == 1.0,
        "circles_95": scores["circles"]["accuracy"] >= 0.95,
    }
    for name in ("square", "inverse", "sine"):
        checks[f"{name}_r2_99"] = scores[name]["r2"] >= 0.99
    checks["logistic_vanishes"] = scores["logistic"]["grad_ratio"] >= 10
    for name in ("relu", "leaky_relu"):
        if name in scores:
            checks[f"{name}_does_not_vanish"] = scores[name]["grad_ratio"] < 10
    return checks


_open_line = False  # whether a progress line awaits its end


def _log(message, end="\n"):
    """Print a progress message to stderr."""
    global _open_line
    print(message, end=end, file=sys.stderr, flush=True)
    _open_line = end != "\n"


def _error(message):
    """Print the one-line error message of a failed run to stderr."""
    if _open_line:
        _log("")
    print(f"cymlp demo: error: {message}", file=sys.stderr, flush=True)


def run(out_dir=DEFAULT_OUT, quick=False, progress=True):
    """Run the four experiments and write their figures into ``out_dir``.

    ConvergenceWarnings are silenced (some fits stop at ``max_iter`` on
    purpose) and BLAS runs on one thread: the networks' matrices are small,
    and a threaded BLAS then mostly waits, erratically so on a busy machine.

    Parameters
    ----------
    out_dir : str or path-like, default='cymlp-demo'
        Directory for the PNG figures, created if needed.
    quick : bool, default=False
        Smaller data and fewer epochs (about four times faster).
    progress : bool, default=True
        Print a line per experiment to stderr.

    Returns
    -------
    summary : dict
        ``scores`` (``{subject: {metric: value}}``), ``checks``
        (``{name: bool}``, see :func:`theory_checks`), ``figures`` (paths)
        and ``seconds`` (``{experiment: wall time}``).

    Raises
    ------
    DemoError
        If ``out_dir`` cannot be written or matplotlib is missing.
    """
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    _matplotlib()
    out_dir = prepare_out_dir(out_dir)
    scores, figures, seconds = {}, [], {}
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        for i, (name, what, experiment) in enumerate(EXPERIMENTS, 1):
            if progress:
                _log(f"[{i}/{len(EXPERIMENTS)}] {name}: {what} ...", end="")
            start = time.perf_counter()
            result = experiment(out_dir, quick=quick)
            seconds[name] = time.perf_counter() - start
            figures.extend(result.pop("figures"))
            scores.update(result)
            if progress:
                _log(f" {seconds[name]:.1f} s")
    return {
        "scores": scores,
        "checks": theory_checks(scores),
        "figures": figures,
        "seconds": seconds,
    }


def _format_value(value):
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    value = float(value)
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.3e}"
    if abs(value) >= 100:
        return f"{value:.1f}"
    return f"{value:.5f}"


def format_summary(summary, quick=False):
    """The stdout report: one ``<subject> <metric> <value>`` line per score.

    Lines starting with ``#`` are comments. After the scores come
    ``check <name> pass|FAIL`` lines, then the figures' paths as comments.

    Parameters
    ----------
    summary : dict
        As returned by :func:`run`.
    quick : bool, default=False
        Whether the run was a quick one (mentioned in the header).

    Returns
    -------
    text : str
    """
    mode = "quick" if quick else "full"
    total = sum(summary["seconds"].values())
    lines = [f"# cymlp demo summary ({mode} run, experiments took {total:.1f} s)"]
    for subject, metrics in summary["scores"].items():
        for metric, value in metrics.items():
            lines.append(f"{subject} {metric} {_format_value(value)}")
    for name, ok in summary["checks"].items():
        lines.append(f"check {name} {'pass' if ok else 'FAIL'}")
    for path in summary["figures"]:
        lines.append(f"# figure {path}")
    return "\n".join(lines)


def build_parser():
    """The ``python -m cymlp`` argument parser: ``demo`` and ``info``."""
    parser = argparse.ArgumentParser(
        prog="python -m cymlp",
        description="cymlp: scikit-learn's multilayer perceptrons on Cython "
                    "kernels.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="run the demo experiments and write their figures",
        description="Four experiments -- classification (AND, XOR, circles), "
                    "regression (x^2, 1/x, sin x), vanishing gradients in a "
                    "10-hidden-layer network, and fit speed against "
                    "scikit-learn -- written as PNG figures, with a score "
                    "summary on stdout and progress on stderr. Needs "
                    "matplotlib (pip install 'cymlp[demo]').",
    )
    demo.add_argument(
        "--out", metavar="DIR", default=DEFAULT_OUT,
        help=f"directory for the figures, created if needed "
             f"(default: ./{DEFAULT_OUT})",
    )
    demo.add_argument(
        "--quick", action="store_true",
        help="smaller data and fewer epochs (a few seconds)",
    )
    commands.add_parser(
        "info",
        help="print versions, BLAS, SIMD level and build options (for bug reports)",
        description="The same report as cymlp.show_config().",
    )
    return parser


def main(argv=None):
    """Entry point of ``python -m cymlp``.

    Parameters
    ----------
    argv : list of str, optional
        The arguments, ``sys.argv[1:]`` by default.

    Returns
    -------
    status : int
        0 on success (and when printing usage), 1 if the demo could not run;
        argparse exits with 2 on bad usage.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "info":
        from ._show_config import show_config
        show_config()
        return 0
    try:
        summary = run(args.out, quick=args.quick)
    except (DemoError, OSError) as exc:  # OSError: e.g. a full disk
        _error(exc)
        return 1
    print(format_summary(summary, quick=args.quick), flush=True)
    return 0
