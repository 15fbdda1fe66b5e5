"""
Decision boundaries: AND, XOR and circles
=========================================

Universal approximation for classes. AND is linearly separable, so a network
with **no hidden layer** (logistic regression) fits it. XOR is not: no single
line separates its classes, and it needs a hidden layer -- **two tanh units**
are enough. Two concentric circles need a closed boundary, which **four tanh
units** draw.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_circles
from sklearn.inspection import DecisionBoundaryDisplay
from sklearn.model_selection import train_test_split

from cymlp import MLPClassifier

X_bool = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
y_and = np.array([0, 0, 0, 1])
y_xor = np.array([0, 1, 1, 0])

and_net = MLPClassifier(hidden_layer_sizes=(), solver="lbfgs", max_iter=1000,
                        random_state=0).fit(X_bool, y_and)
# With two hidden units XOR's loss has poor local minima: from this seed,
# L-BFGS reaches the exact solution.
xor_net = MLPClassifier(hidden_layer_sizes=(2,), activation="tanh", solver="lbfgs",
                        max_iter=1000, random_state=1).fit(X_bool, y_xor)

# 600 points: with 300, four tanh units end in a poor local minimum for 2 of
# 10 seeds (scikit-learn's MLP too).
X, y = make_circles(n_samples=600, noise=0.08, factor=0.5, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, random_state=0, stratify=y
)
circles_net = MLPClassifier(hidden_layer_sizes=(4,), activation="tanh", solver="lbfgs",
                            max_iter=2000, random_state=0).fit(X_train, y_train)

scores = {
    "and": {"accuracy": and_net.score(X_bool, y_and)},
    "xor": {"accuracy": xor_net.score(X_bool, y_xor)},
    "circles": {"accuracy": circles_net.score(X_test, y_test)},  # held out
}
for name, score in scores.items():
    print(f"{name}: accuracy {score['accuracy']:.1%}")

# %%
# Each panel shades the predicted probability of class 1 over the plane; the
# black line is where it crosses 0.5, the decision boundary.

panels = [
    ("AND, no hidden layer", and_net, X_bool, y_and, ""),
    ("XOR, 1 hidden layer of 2", xor_net, X_bool, y_xor, ""),
    ("circles, 1 hidden layer of 4", circles_net, X_test, y_test, " (held out)"),
]
colors = ["#d62728", "#1f77b4"]  # class 0, class 1

fig, axes = plt.subplots(1, 3, figsize=(13, 4.4), layout="constrained")
for ax, (title, net, X, y, note) in zip(axes, panels):
    margin = 0.5 if len(X) == 4 else 0.3
    DecisionBoundaryDisplay.from_estimator(
        net, X, response_method="predict_proba", grid_resolution=200, eps=margin,
        cmap="RdBu", alpha=0.55, vmin=0, vmax=1, ax=ax, xlabel="$x_1$", ylabel="$x_2$",
    )
    DecisionBoundaryDisplay.from_estimator(
        net, X, response_method="predict_proba", grid_resolution=200, eps=margin,
        plot_method="contour", levels=[0.5], colors="k", linewidths=1.5, ax=ax,
    )
    for label in (0, 1):
        ax.scatter(*X[y == label].T, s=90 if len(X) == 4 else 14, c=colors[label],
                   edgecolors="k", linewidths=0.6, label=f"class {label}")
    ax.set_title(f"{title}\naccuracy {net.score(X, y):.1%}{note}")
    ax.set_aspect("equal")
axes[0].legend(loc="upper left", fontsize=8)
fig.suptitle("Decision boundaries (shading: P(class 1), black: 0.5 level)")

# %%
# How the hidden layer solves XOR
# -------------------------------
#
# Each hidden unit computes :math:`\tanh(w_1 x_1 + w_2 x_2 + b)`: it draws one
# line in the input plane (left), where its input is 0, and tells on which
# side of it a point lies. In the space of the two hidden units' outputs
# (right, from ``hidden_activations``) the four points become linearly
# separable, and the output unit separates them with one line.


def draw_line(ax, w, b, **kwargs):
    """Draw the line w[0] * x1 + w[1] * x2 + b = 0."""
    point = -b * w / (w @ w)
    ax.axline(point, point + [-w[1], w[0]], **kwargs)


fig, (ax_in, ax_hidden) = plt.subplots(1, 2, figsize=(10, 4.8), layout="constrained")
DecisionBoundaryDisplay.from_estimator(
    xor_net, X_bool, response_method="predict_proba", grid_resolution=200, eps=0.5,
    cmap="RdBu", alpha=0.35, vmin=0, vmax=1, ax=ax_in, xlabel="$x_1$", ylabel="$x_2$",
)
W1, b1 = xor_net.coefs_[0], xor_net.intercepts_[0]
for j, color in enumerate(["#2ca02c", "#ff7f0e"]):
    draw_line(ax_in, W1[:, j], b1[j], color=color, lw=2.5,
              label=f"hidden unit {j + 1}: "
                    f"{W1[0, j]:+.1f}$x_1$ {W1[1, j]:+.1f}$x_2$ {b1[j]:+.1f} = 0")
for label in (0, 1):
    ax_in.scatter(*X_bool[y_xor == label].T, s=110, c=colors[label], edgecolors="k",
                  zorder=3, label=f"XOR = {label}")
ax_in.set(xlim=(-0.5, 1.5), ylim=(-0.5, 1.5), aspect="equal",
          title="input space: each hidden unit draws a line")
ax_in.legend(loc="upper center", fontsize=7.5, framealpha=0.9)

H = xor_net.hidden_activations(X_bool)[0]  # the 4 points in hidden space
W2, b2 = xor_net.coefs_[1][:, 0], xor_net.intercepts_[1][0]
h1, h2 = np.meshgrid(np.linspace(-1.15, 1.15, 200), np.linspace(-1.15, 1.15, 200))
proba = 1 / (1 + np.exp(-(W2[0] * h1 + W2[1] * h2 + b2)))  # the output unit
ax_hidden.contourf(h1, h2, proba, levels=20, cmap="RdBu", alpha=0.35, vmin=0, vmax=1)
draw_line(ax_hidden, W2, b2, color="k", lw=1.5, label="output unit: P = 0.5")
for label in (0, 1):
    ax_hidden.scatter(*H[y_xor == label].T, s=110, c=colors[label], edgecolors="k",
                      zorder=3, label=f"XOR = {label}")
# Name each point by its input; inputs mapped to the same place share a name.
names = {}
for x, h in zip(X_bool, H):
    names.setdefault(tuple(h.round(1)), []).append(f"({x[0]:.0f}, {x[1]:.0f})")
for (u, v), inputs in names.items():
    ax_hidden.annotate(" and ".join(inputs), (u, v), textcoords="offset points",
                       xytext=(0, -16 if v > 0 else 10),
                       ha="left" if u < 0 else "right", fontsize=8)
ax_hidden.set(xlim=(-1.15, 1.15), ylim=(-1.15, 1.15), aspect="equal",
              xlabel="hidden unit 1 (tanh)", ylabel="hidden unit 2 (tanh)",
              title="hidden space: now linearly separable")
ax_hidden.legend(loc="lower right", fontsize=7.5, framealpha=0.9)
fig.suptitle(f"XOR with 2 hidden units, accuracy {scores['xor']['accuracy']:.0%}")
plt.show()
