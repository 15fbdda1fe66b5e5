"""
Function approximation: x², 1/x and sin x
=========================================

Universal approximation for functions: one hidden layer of enough units can
approximate any continuous function on an interval. Here **ten tanh units**
fit :math:`x^2` on [-1, 1], :math:`1/x` on [1, 100] (sampled log-spaced, so
the steep part near 1 is as well covered as the flat tail) and
:math:`\\sin x` on [1, 2π]. Inputs and targets are standardized (a
``StandardScaler`` in a pipeline, inside a ``TransformedTargetRegressor``);
the :math:`R^2` is measured on points between the training points.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.metrics import r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from cymlp import MLPRegressor

# name: (title, function, 60 training inputs, held-out inputs)
inverse_train = np.geomspace(1, 100, 60)
tasks = {
    "square": ("$x^2$ on [-1, 1]", np.square,
               np.linspace(-1, 1, 60), np.linspace(-1, 1, 301)),
    "inverse": ("$1/x$ on [1, 100] (log-spaced)", np.reciprocal, inverse_train,
                np.sqrt(inverse_train[:-1] * inverse_train[1:])),  # midpoints in log x
    "sine": ("$\\sin x$ on [1, 2$\\pi$]", np.sin,
             np.linspace(1, 2 * np.pi, 60), np.linspace(1, 2 * np.pi, 301)),
}

scores, predictions = {}, {}
for name, (title, f, x_train, x_test) in tasks.items():
    net = MLPRegressor(hidden_layer_sizes=(10,), activation="tanh", solver="lbfgs",
                       max_iter=2000, tol=1e-6, random_state=0)
    model = TransformedTargetRegressor(
        regressor=make_pipeline(StandardScaler(), net), transformer=StandardScaler()
    ).fit(x_train[:, None], f(x_train))
    predictions[name] = model.predict(x_test[:, None])
    scores[name] = {"r2": r2_score(f(x_test), predictions[name])}
    print(f"{name}: held-out R² {scores[name]['r2']:.5f}")

fig, axes = plt.subplots(1, 3, figsize=(13, 4), layout="constrained")
for ax, (name, (title, f, x_train, x_test)) in zip(axes, tasks.items()):
    ax.plot(x_test, f(x_test), color="0.6", lw=5, label="truth")
    ax.plot(x_test, predictions[name], color="#d62728", lw=1.8, label="network")
    ax.scatter(x_train, f(x_train), s=8, color="k", zorder=3, label="training points")
    if name == "inverse":
        ax.set_xscale("log")
    ax.set_xlabel("$x$")
    ax.set_title(f"{title}\n$R^2$ = {scores[name]['r2']:.5f} (held out)")
    ax.legend(fontsize=8)
fig.suptitle("Regression with one hidden layer of 10 tanh units")
plt.show()
