"""scikit-learn 1.9.1's own gallery examples that use its MLP, run with only the import swapped.

The examples come from scikit-learn 1.9.1's source distribution on PyPI
(which ships ``examples/``): ``python sklearn_gallery.py [SDIST]`` takes a
downloaded ``scikit_learn-1.9.1.tar.gz``, or fetches it from PyPI's simple
index (PEP 691 JSON, the index pip reads) and checks its sha256. ``pip
download`` cannot be used: it builds an sdist to read its metadata, and
scikit-learn's build backend has no metadata-only hook, so that would
compile scikit-learn.

Each example that uses scikit-learn's MLP and runs offline is run twice,
headless (matplotlib's Agg backend), each in its own interpreter: as
scikit-learn ships it, and with ``from sklearn.neural_network import``
swapped for ``from cymlp import`` (the only change). MNIST comes from
OpenML, so ``plot_mnist_filters.py`` runs on ``load_digits`` (8x8 images)
in both runs. The step fails unless

* both runs finish;
* cymlp's run prints no warning (category and message) that scikit-learn's
  run does not print;
* for the examples whose MLPs use ``sgd`` or ``adam``: the same printed
  output, the same texts in the figures (the scores the examples draw), and
  the same plotted lines and images to 1e-9 relative.

``plot_mlp_alpha.py`` uses L-BFGS, which amplifies last-bit differences
(docs: Differences from scikit-learn): its scores are reported, not
compared.
"""

import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

SDIST = "scikit_learn-1.9.1.tar.gz"
SDIST_SHA256 = "629cada3e33e2b9bf376cdc7614a47a4140b8aedc1d836579e359736fbd82977"
INDEX = "https://pypi.org/simple/scikit-learn/"

SKLEARN_IMPORT = "from sklearn.neural_network import "
CYMLP_IMPORT = "from cymlp import "

# example: (path in the sdist, solver family, text replacements for both runs)
DIGITS_FOR_MNIST = [
    ("from sklearn.datasets import fetch_openml",
     "from sklearn.datasets import load_digits"),
    ('X, y = fetch_openml("mnist_784", version=1, return_X_y=True, as_frame=False)',
     "X, y = load_digits(return_X_y=True)"),
    ("coef.reshape(28, 28)", "coef.reshape(8, 8)"),
]
# the example's decision tree has no random_state: seed it in both runs
SEEDED_TREE = [("tree = DecisionTreeRegressor()",
                "tree = DecisionTreeRegressor(random_state=0)")]
EXAMPLES = {
    "plot_mlp_training_curves": ("neural_networks/plot_mlp_training_curves.py",
                                 "stochastic", []),
    "plot_classifier_comparison": ("classification/plot_classifier_comparison.py",
                                   "stochastic", []),
    "plot_partial_dependence_visualization_api": (
        "inspection/plot_partial_dependence_visualization_api.py", "stochastic",
        SEEDED_TREE),
    "plot_mnist_filters": ("neural_networks/plot_mnist_filters.py", "stochastic",
                           DIGITS_FOR_MNIST),
    "plot_mlp_alpha": ("neural_networks/plot_mlp_alpha.py", "lbfgs", []),
}
RTOL = 1e-9

# Run in a fresh interpreter: executes one example, then writes what it
# printed as warnings and what its figures hold to a JSON file.
RUNNER = r'''
import json, runpy, sys, warnings
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.text import Text

shown = []
_show = warnings.showwarning
def record(message, category, filename, lineno, file=None, line=None):
    shown.append([category.__name__, str(message)])
    _show(message, category, filename, lineno, file, line)
warnings.showwarning = record

runpy.run_path(sys.argv[1], run_name="__main__")
texts, arrays = [], []
for num in plt.get_fignums():
    fig = plt.figure(num)
    texts += [t.get_text() for t in fig.findobj(Text) if t.get_text()]
    arrays += [[float(v) for v in line.get_ydata()] for line in fig.findobj(Line2D)]
    arrays += [[float(v) for v in image.get_array().ravel()]
               for image in fig.findobj(AxesImage)]
json.dump({"warnings": shown, "texts": texts, "arrays": arrays}, open(sys.argv[2], "w"))
'''


def fetch_sdist(dest):
    """scikit-learn 1.9.1's sdist from PyPI's simple index, its sha256 checked."""
    request = urllib.request.Request(
        INDEX, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        files = json.load(response)["files"]
    (entry,) = [f for f in files if f["filename"] == SDIST]
    assert entry["hashes"]["sha256"] == SDIST_SHA256, "PyPI lists another sha256"
    with urllib.request.urlopen(entry["url"], timeout=300) as response:
        dest.write_bytes(response.read())
    return dest


def read_examples(sdist):
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    assert digest == SDIST_SHA256, f"{sdist}: sha256 {digest}, not 1.9.1's sdist"
    with tarfile.open(sdist) as tar:
        return {name: tar.extractfile(f"scikit_learn-1.9.1/examples/{path}").read().decode()
                for name, (path, _, _) in EXAMPLES.items()}


def replace_once(source, old, new, name):
    assert source.count(old) == 1, f"{name}: expected one {old!r}"
    return source.replace(old, new)


def run(name, source, work, variant):
    """Run one example in a fresh interpreter; (output dict, seconds)."""
    folder = work / variant
    folder.mkdir(exist_ok=True)
    script, out = folder / f"{name}.py", folder / f"{name}.json"
    script.write_text(source)
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONWARNINGS="")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", RUNNER, str(script), str(out)],
                          cwd=folder, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{name} ({variant}) failed:\n{proc.stdout}\n{proc.stderr}")
    result = json.loads(out.read_text())
    result["stdout"] = proc.stdout
    return result, seconds


def compare(name, family, ref, est):
    """The list of problems of cymlp's run (est) against scikit-learn's (ref)."""
    problems = []
    extra = [w for w in est["warnings"] if w not in ref["warnings"]]
    if extra:
        problems.append(f"warnings scikit-learn's run does not print: {extra}")
    if family != "stochastic":
        differ = sum(a != b for a, b in zip(est["texts"], ref["texts"]))
        print(f"  {name}: L-BFGS, {differ} of {len(ref['texts'])} figure texts differ "
              "(not compared)")
        return problems
    if est["stdout"] != ref["stdout"]:
        problems.append(f"other output:\n--- scikit-learn\n{ref['stdout']}\n"
                        f"--- cymlp\n{est['stdout']}")
    if est["texts"] != ref["texts"]:
        problems.append(f"other figure texts: {est['texts']} != {ref['texts']}")
    if len(est["arrays"]) != len(ref["arrays"]):
        problems.append("another number of lines and images")
    else:
        worst = 0.0
        for a, b in zip(est["arrays"], ref["arrays"]):
            a, b = np.asarray(a), np.asarray(b)
            if a.shape != b.shape:
                problems.append(f"a line or image of another shape: {a.shape} != {b.shape}")
                continue
            both = np.isfinite(a) & np.isfinite(b)
            if not np.array_equal(np.isfinite(a), np.isfinite(b)):
                problems.append("non-finite values differ")
            scale = np.maximum(np.abs(b[both]), 1e-300)
            if both.any():
                worst = max(worst, float(np.max(np.abs(a[both] - b[both]) / scale)))
        print(f"  {name}: {len(ref['arrays'])} lines/images, largest relative "
              f"difference {worst:.1e}")
        if worst > RTOL:
            problems.append(f"plotted values differ by {worst:.1e} > {RTOL}")
    return problems


def main():
    with tempfile.TemporaryDirectory(prefix="sklearn-gallery-") as tmp:
        run_all(Path(tmp))


def run_all(work):
    sdist = Path(sys.argv[1]) if len(sys.argv) > 1 else fetch_sdist(work / SDIST)
    sources = read_examples(sdist)
    failures = []
    for name, (_, family, data_swaps) in EXAMPLES.items():
        source = sources[name]
        for old, new in data_swaps:
            source = replace_once(source, old, new, name)
        swapped = replace_once(source, SKLEARN_IMPORT, CYMLP_IMPORT, name)
        assert "sklearn.neural_network import" not in swapped
        ref, t_ref = run(name, source, work, "sklearn")
        est, t_est = run(name, swapped, work, "cymlp")
        print(f"{name}: scikit-learn {t_ref:.1f} s, cymlp {t_est:.1f} s, "
              f"{len(ref['warnings'])} and {len(est['warnings'])} warnings printed")
        failures += [f"{name}: {p}" for p in compare(name, family, ref, est)]
    if failures:
        sys.exit("\n".join(failures))
    print(f"{len(EXAMPLES)} scikit-learn gallery examples run with the import swapped")


if __name__ == "__main__":
    main()
