"""
Speed against scikit-learn
==========================

The same ``MLPClassifier`` fit -- 20 000 samples, 20 features, 3 classes, one
hidden layer of 100 relu units, Adam, 20 epochs, one BLAS thread -- with
scikit-learn and with cymlp: the same parameters and seed give the same
weights (``max_coef_diff``), in less time. The times are from the machine
that built this page; the benchmarks with their tables are on the
:ref:`performance` page.
"""

import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from threadpoolctl import threadpool_limits

from cymlp import MLPClassifier

# A fixed epoch budget: every fit runs its full `epochs`.
warnings.simplefilter("ignore", ConvergenceWarning)

n_samples, epochs = 20_000, 20
# sphinx_gallery_start_ignore
# `python -m cymlp demo --quick` runs this script with less data, fewer epochs.
import os

if os.environ.get("CYMLP_DEMO_QUICK") == "1":
    n_samples, epochs = 10_000, 10
# sphinx_gallery_end_ignore
X, y = make_classification(n_samples=n_samples, n_features=20, n_informative=10,
                           n_classes=3, random_state=0)
params = dict(hidden_layer_sizes=(100,), max_iter=epochs, random_state=0)
repeats = 2


def best_time(Estimator):
    """Fit `repeats` times; return the fastest fit's seconds and its model."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model = Estimator(**params).fit(X, y)
        times.append(time.perf_counter() - start)
    return min(times), model


with threadpool_limits(limits=1, user_api="blas"):
    t_cymlp, cy = best_time(MLPClassifier)
    t_sklearn, sk = best_time(SkMLPClassifier)

# The largest difference between the two models' weights and biases.
max_coef_diff = max(np.abs(a - b).max()
                    for a, b in zip(cy.coefs_ + cy.intercepts_, sk.coefs_ + sk.intercepts_))
scores = {"speed": {"cymlp_seconds": t_cymlp, "sklearn_seconds": t_sklearn,
                    "ratio": t_sklearn / t_cymlp, "max_coef_diff": max_coef_diff}}
print(f"scikit-learn {t_sklearn:.2f} s, cymlp {t_cymlp:.2f} s "
      f"({t_sklearn / t_cymlp:.1f}x); largest weight difference {max_coef_diff:.1e}")

fig, ax = plt.subplots(figsize=(5.5, 4), layout="constrained")
bars = ax.bar(["scikit-learn", "cymlp"], [t_sklearn, t_cymlp],
              color=["#7f7f7f", "#1f77b4"], width=0.6)
ax.bar_label(bars, labels=[f"{t_sklearn:.2f} s", f"{t_cymlp:.2f} s"], padding=3)
ax.set(ylabel=f"fit time (s), best of {repeats}", ylim=(0, 1.18 * max(t_sklearn, t_cymlp)))
ax.set_title(f"MLPClassifier fit: cymlp is {t_sklearn / t_cymlp:.1f}x faster\n"
             f"{n_samples} x 20, 3 classes, hidden (100,), adam, {epochs} epochs, "
             f"1 BLAS thread", fontsize=10)
plt.show()
