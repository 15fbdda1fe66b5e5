"""The ``python -m cymlp demo`` command: four gallery examples, run as a demo.

The experiments are the documentation's gallery scripts, shipped in
:mod:`cymlp.examples`, so the demo runs exactly the code the gallery shows:

1. ``plot_decision_boundaries`` -- universal approximation for classes: AND
   with no hidden layer, XOR with two hidden units, concentric circles with
   four.
2. ``plot_function_approximation`` -- universal approximation for functions:
   ``x**2``, ``1/x`` and ``sin x`` on an interval each.
3. ``plot_vanishing_gradients`` -- per-layer gradient norms of
   ten-hidden-layer networks with logistic, tanh, relu and leaky_relu units.
4. ``plot_speed`` -- fit time of cymlp against scikit-learn's MLP on one
   workload, with the same parameters and seed.

:func:`run_example` runs one script (``runpy``, as ``__main__``) and returns
its ``scores`` (``{subject: {metric: value}}``, a variable every demo script
defines) and its figures. :func:`run` runs the four, writes their figures as
PNGs and returns a summary, :func:`format_summary` turns it into the stable
stdout report (lines ``<subject> <metric> <value>``, ``#`` for comments) and
:func:`main` is the command line.

The demo makes its own data, is deterministic (fixed ``random_state``
everywhere) and imports matplotlib lazily, so cymlp itself does not depend on
it (install ``cymlp[demo]``).
"""

import argparse
import contextlib
import io
import os
import runpy
import sys
import tempfile
import time
import warnings
from unittest import mock

import numpy as np

DEFAULT_OUT = "cymlp-demo"
DPI = 100


class DemoError(Exception):
    """A problem the demo reports as one line on stderr (no traceback)."""


# ----------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------


def _matplotlib():
    """Check that matplotlib is installed and render off-screen (Agg).

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


# ----------------------------------------------------------------------
# Running everything
# ----------------------------------------------------------------------

# name, what it shows, its script in cymlp.examples, and the PNG names of the
# figures the script draws, in the order it draws them.
EXPERIMENTS = [
    ("classification", "AND, XOR and circles", "plot_decision_boundaries",
     ["classification.png", "xor_hidden.png"]),
    ("regression", "x^2, 1/x and sin x", "plot_function_approximation",
     ["regression.png"]),
    ("vanishing_gradients", "10 hidden layers, gradient norm per layer",
     "plot_vanishing_gradients", ["vanishing_gradients.png"]),
    ("speed", "cymlp against scikit-learn, fit time", "plot_speed",
     ["speed.png"]),
]

# "1" while a script runs in a quick demo, "" otherwise: the scripts whose
# workload has a quick size read it, in a block the gallery does not show.
QUICK_ENV = "CYMLP_DEMO_QUICK"


def run_example(script, quick=False):
    """Run the gallery script ``cymlp.examples.<script>`` as ``__main__``.

    The script runs on one BLAS thread, its printed output is discarded (the
    demo's stdout is its summary) and the warning filters it sets are undone
    afterwards. Pyplot draws off-screen unless it was imported before.

    Parameters
    ----------
    script : str
        The module name in :mod:`cymlp.examples`, e.g. ``"plot_speed"``.
    quick : bool, default=False
        Run with :data:`QUICK_ENV` set: smaller data and fewer epochs.

    Returns
    -------
    scores : dict
        The script's ``scores`` variable, ``{subject: {metric: value}}``.
    figures : list of matplotlib.figure.Figure
        The figures the script drew, in order; the caller closes them.
    """
    _matplotlib()
    import matplotlib.pyplot as plt
    from threadpoolctl import threadpool_limits

    plt.close("all")
    with (
        mock.patch.dict(os.environ, {QUICK_ENV: "1" if quick else ""}),
        warnings.catch_warnings(),
        threadpool_limits(limits=1, user_api="blas"),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        namespace = runpy.run_module(f"cymlp.examples.{script}", run_name="__main__")
    return namespace["scores"], [plt.figure(n) for n in plt.get_fignums()]


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

    Each experiment is a gallery script, run by :func:`run_example`; the
    seconds reported include drawing and writing its figures.

    Parameters
    ----------
    out_dir : str or path-like, default='cymlp-demo'
        Directory for the PNG figures, created if needed.
    quick : bool, default=False
        Smaller data and fewer epochs where the script has a quick size
        (vanishing gradients and speed).
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
    RuntimeError
        If a script does not draw the figures :data:`EXPERIMENTS` names.
    """
    _matplotlib()
    import matplotlib.pyplot as plt

    out_dir = prepare_out_dir(out_dir)
    scores, figures, seconds = {}, [], {}
    for i, (name, what, script, filenames) in enumerate(EXPERIMENTS, 1):
        if progress:
            _log(f"[{i}/{len(EXPERIMENTS)}] {name}: {what} ...", end="")
        start = time.perf_counter()
        script_scores, drawn = run_example(script, quick=quick)
        try:
            if len(drawn) != len(filenames):
                raise RuntimeError(
                    f"cymlp.examples.{script} drew {len(drawn)} figures, "
                    f"the demo names {len(filenames)}"
                )
            for fig, filename in zip(drawn, filenames):
                figures.append(_save(fig, out_dir, filename))
        finally:
            plt.close("all")
        seconds[name] = time.perf_counter() - start
        scores.update(script_scores)
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
