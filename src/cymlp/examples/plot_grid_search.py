"""
Tuning activations and dropout with GridSearchCV
================================================

Every extra of cymlp is a constructor parameter, so scikit-learn's tools
tune it like any other: here a ``GridSearchCV`` over the hidden activation
and the dropout rate of an ``MLPClassifier`` inside a pipeline with a
``StandardScaler``, on two interleaved half-moons.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from cymlp import MLPClassifier

# A fixed epoch budget: dropout keeps the loss noisy, so fits run to max_iter.
warnings.simplefilter("ignore", ConvergenceWarning)

X, y = make_moons(n_samples=400, noise=0.3, random_state=0)
pipe = make_pipeline(
    StandardScaler(),
    MLPClassifier(hidden_layer_sizes=(32, 32), max_iter=300, random_state=0),
)
activations = ["logistic", "tanh", "relu", "leaky_relu", "elu", "gelu"]
dropouts = [0.0, 0.2, 0.4]
grid = {"mlpclassifier__activation": activations,
        "mlpclassifier__dropout": dropouts}
search = GridSearchCV(pipe, grid, cv=3).fit(X, y)
print(search.best_params_, f"{search.best_score_:.3f}")

# %%
# The mean cross-validated accuracy of each pair:

scores = search.cv_results_["mean_test_score"].reshape(len(activations), len(dropouts))
fig, ax = plt.subplots(figsize=(5.5, 4.5), layout="constrained")
image = ax.imshow(scores, cmap="viridis")
ax.set_xticks(np.arange(len(dropouts)), [str(d) for d in dropouts])
ax.set_yticks(np.arange(len(activations)), activations)
ax.set_xlabel("dropout")
ax.set_ylabel("activation")
for (i, j), score in np.ndenumerate(scores):
    ax.text(j, i, f"{score:.3f}", ha="center", va="center",
            color="k" if score > scores.mean() else "w")
fig.colorbar(image, label="mean CV accuracy")
ax.set_title("GridSearchCV over activation and dropout")
plt.show()
