"""Tests of ``python -m cymlp demo``: figures, printed scores, CLI errors,
and the gallery scripts (``cymlp.examples``) it runs.

The quick demo is run once, in a subprocess, for the whole module; the tests
then check its exit status, its PNG figures and the theory its stdout summary
(``<subject> <metric> <value>`` lines) should show. The gallery tests check
that each demo experiment is a gallery page and that the gallery's code uses
only cymlp's public API.
"""

import ast
import importlib.resources
import os
import re
import runpy
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import cymlp.examples
from cymlp._demo import EXPERIMENTS, QUICK_ENV, main, run_example

pytest.importorskip("matplotlib")

DOCS = Path(__file__).resolve().parents[1] / "docs"
EXAMPLES = Path(cymlp.examples.__file__).parent

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FIGURES = [
    "classification.png",
    "xor_hidden.png",
    "regression.png",
    "vanishing_gradients.png",
    "speed.png",
]


def run_cli(*args, timeout=900):
    """Run ``python -m cymlp ARGS`` and return the completed process."""
    return subprocess.run(
        [sys.executable, "-m", "cymlp", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def parse_summary(stdout):
    """``{(subject, metric): value}`` from the summary lines of stdout."""
    scores = {}
    for line in stdout.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        subject, metric, value = line.split()
        if subject != "check":
            value = float(value)
        scores[subject, metric] = value
    return scores


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "figures"
    proc = run_cli("demo", "--quick", "--out", str(out))
    return proc, out


def test_quick_demo_succeeds(quick_demo):
    proc, _ = quick_demo
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    # One progress line per experiment.
    assert [line[:5] for line in proc.stderr.splitlines()] == [
        "[1/4]", "[2/4]", "[3/4]", "[4/4]"
    ]


@pytest.mark.parametrize("name", FIGURES)
def test_figures_are_pngs(quick_demo, name):
    proc, out = quick_demo
    path = out / name
    assert path.is_file(), proc.stderr
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 10_000
    assert f"# figure {path}" in proc.stdout


def test_classification_scores(quick_demo):
    scores = parse_summary(quick_demo[0].stdout)
    assert scores["and", "accuracy"] == 1.0
    assert scores["xor", "accuracy"] == 1.0
    assert scores["circles", "accuracy"] >= 0.95


def test_regression_scores(quick_demo):
    scores = parse_summary(quick_demo[0].stdout)
    for name in ("square", "inverse", "sine"):
        assert scores[name, "r2"] >= 0.99, name


def test_vanishing_gradients(quick_demo):
    scores = parse_summary(quick_demo[0].stdout)
    # Logistic: the first layer's gradient is >= 10x smaller than the last's.
    assert scores["logistic", "grad_ratio"] >= 10
    assert scores["logistic", "grad_last"] >= 10 * scores["logistic", "grad_first"]
    # ... and the network does not learn: the loss stays near log 2.
    assert scores["logistic", "loss"] > 0.68
    # Relu (and leaky relu when cymlp has it): no such drop.
    for activation in ("relu", "leaky_relu"):
        if (activation, "grad_ratio") in scores:
            assert scores[activation, "grad_ratio"] < 10, activation
            assert scores[activation, "loss"] < 0.5, activation
    assert ("relu", "grad_ratio") in scores


def test_speed_scores(quick_demo):
    # No speed claim here (that is the asv suite's job): the summary's numbers
    # are consistent, and both libraries trained the same model.
    scores = parse_summary(quick_demo[0].stdout)
    cy, sk = scores["speed", "cymlp_seconds"], scores["speed", "sklearn_seconds"]
    assert cy > 0 and sk > 0
    # the ratio printed is sklearn / cymlp of the printed times (5 digits each)
    assert scores["speed", "ratio"] == pytest.approx(sk / cy, rel=2e-3)
    # Same parameters and seed: the same model.
    assert scores["speed", "max_coef_diff"] < 1e-8


def test_speed_reports_the_fastest_fit_of_each_library(monkeypatch):
    """The speed script times each library's fits, keeps the fastest of the
    repeats, reports their ratio and the two models' largest weight difference:
    checked with a scripted clock on a small problem (so, no timing)."""
    import time

    import sklearn.datasets
    from sklearn.neural_network import MLPClassifier as SkMLPClassifier

    from cymlp import MLPClassifier

    small = sklearn.datasets.make_classification(
        n_samples=300, n_features=20, n_informative=10, n_classes=3, random_state=0)
    monkeypatch.setattr(sklearn.datasets, "make_classification", lambda *a, **k: small)
    ticks = iter([0.0, 3.0, 10.0, 12.0,    # cymlp's two fits: 3 s, 2 s
                  20.0, 30.0, 40.0, 48.0])  # scikit-learn's: 10 s, 8 s
    with monkeypatch.context() as clock:
        clock.setattr(time, "perf_counter", lambda: next(ticks))
        scores, figures = run_example("plot_speed", quick=True)
    assert next(ticks, None) is None, "the script read the clock other than around each fit"
    assert len(figures) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        params = dict(hidden_layer_sizes=(100,), max_iter=10, random_state=0)
        cy = MLPClassifier(**params).fit(*small)
        sk = SkMLPClassifier(**params).fit(*small)
    speed = scores["speed"]
    assert speed["cymlp_seconds"] == 2.0 and speed["sklearn_seconds"] == 8.0
    assert speed["ratio"] == 4.0
    diff = max(np.abs(a - b).max() for a, b in zip(cy.coefs_ + cy.intercepts_,
                                                   sk.coefs_ + sk.intercepts_))
    # The script's fits and these are the same fits, but BLAS may split their
    # products over a different number of threads: rounding-level agreement.
    assert diff < 1e-8 and abs(speed["max_coef_diff"] - diff) <= 1e-14


def test_quick_env_reaches_the_script_and_is_restored(monkeypatch):
    """--quick shrinks the workload through QUICK_ENV, set only while the
    script runs; warning filters and printed output stay inside the script."""
    import sklearn.datasets

    sizes = []
    real = sklearn.datasets.make_classification

    def spy(*args, **kwargs):
        sizes.append(kwargs["n_samples"])
        kwargs["n_samples"] = 120
        return real(*args, **kwargs)

    monkeypatch.setattr(sklearn.datasets, "make_classification", spy)
    monkeypatch.setenv(QUICK_ENV, "outer")
    filters = list(warnings.filters)
    for quick in (True, False):
        scores, _ = run_example("plot_vanishing_gradients", quick=quick)
        assert set(scores) == {"logistic", "tanh", "relu", "leaky_relu"}
    assert sizes == [600, 1500]
    assert os.environ[QUICK_ENV] == "outer"
    assert warnings.filters == filters


def test_theory_checks_pass(quick_demo):
    scores = parse_summary(quick_demo[0].stdout)
    checks = {m: v for (subject, m), v in scores.items() if subject == "check"}
    assert len(checks) >= 8
    assert checks["relu_does_not_vanish"] == "pass"
    assert all(v == "pass" for v in checks.values()), checks


def test_unwritable_out_dir(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    proc = run_cli("demo", "--quick", "--out", str(blocker / "figures"))
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("cymlp demo: error:")
    assert str(blocker / "figures") in lines[0]
    assert proc.stdout == ""


def test_out_is_a_file(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    assert main(["demo", "--out", str(blocker)]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("cymlp demo: error:")
    assert captured.err.count("\n") == 1
    assert captured.out == ""


def test_no_arguments_prints_usage(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m cymlp")
    assert "demo" in out


@pytest.mark.parametrize("args", [["--help"], ["demo", "--help"]])
def test_help(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m cymlp")
    if args == ["demo", "--help"]:
        assert "--out" in out and "--quick" in out


def test_bad_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["nope"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_every_demo_experiment_is_a_gallery_page():
    """The demo runs gallery scripts: each one it names is a file of the
    directory docs/conf.py gives sphinx-gallery, and a page the gallery runs."""
    conf = runpy.run_path(str(DOCS / "conf.py"))["sphinx_gallery_conf"]
    gallery = Path(conf["examples_dirs"])
    assert gallery.resolve() == EXAMPLES.resolve()
    for _, _, script, filenames in EXPERIMENTS:
        path = gallery / f"{script}.py"
        assert path.is_file(), path
        assert re.search(conf["filename_pattern"], str(path)), path
        assert filenames


def test_every_gallery_file_is_installed():
    """meson.build installs the gallery's files one by one: each file of the
    directory is in the installed package (an editable install lists the
    files a wheel holds, and reads them from the checkout)."""
    installed = {p.name for p in importlib.resources.files("cymlp.examples").iterdir()}
    present = {p.name for p in EXAMPLES.iterdir() if p.name != "__pycache__"}
    assert present - installed == set()
    assert {"__init__.py", "GALLERY_HEADER.rst"} <= installed


def _private_uses(tree):
    """Private names an example reaches: cymlp._x imports, relative imports,
    and any ``obj._x`` attribute (dunders aside)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            modules = [("." * node.level) + (node.module or "")]
            if node.module == "cymlp":
                modules += [f"cymlp.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("_") and not node.attr.startswith("__"):
                found.append(f"line {node.lineno}: .{node.attr}")
            continue
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if module.startswith(".") or (
                parts[0] == "cymlp" and any(p.startswith("_") for p in parts)
            ):
                found.append(f"line {node.lineno}: import {module}")
    return found


def test_gallery_uses_only_public_api():
    """The gallery's code is what a user would write: no private import or
    attribute. (The check itself: it flags a private import and attribute.)"""
    assert len(_private_uses(ast.parse(
        "from cymlp import _demo\nimport cymlp._base\nnet._params_flat"))) == 3
    scripts = sorted(EXAMPLES.glob("plot_*.py"))
    assert len(scripts) >= 7
    for path in scripts:
        assert _private_uses(ast.parse(path.read_text())) == [], path.name


def test_import_cymlp_loads_neither_matplotlib_nor_the_examples():
    proc = subprocess.run(
        [sys.executable, "-c", "import sys, cymlp; print(sorted(m for m in sys.modules "
         "if m.startswith(('matplotlib', 'cymlp.examples', 'cymlp._demo'))))"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
