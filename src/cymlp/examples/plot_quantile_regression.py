"""
Prediction intervals: quantile regression on sin x
==================================================

A squared-error network predicts the conditional **mean**; a network trained
on the pinball loss (``loss="quantile"``) predicts a conditional
**quantile**. Three of them, for q = 0.05, 0.5 and 0.95, give a median and a
90 % prediction interval. Here the target is :math:`\\sin x` on
:math:`[-2\\pi, 2\\pi]` with Gaussian noise whose spread grows with
:math:`|x|`: :math:`\\sigma(x) = 0.05 + 0.1\\,|x|`, so the interval must
widen away from 0, which a constant error bar around a squared-error fit
cannot do. The models anneal their learning rate (``learning_rate="cosine"``)
so that the non-smooth loss settles; their coverage is measured on held-out
points.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from cymlp import MLPRegressor


Z95 = 1.6448536269514722   # the standard normal's 95 % quantile (5 %: -Z95)


def noisy_sine(n, seed):
    rng = np.random.RandomState(seed)
    x = rng.uniform(-2 * np.pi, 2 * np.pi, n)
    return x, np.sin(x) + (0.05 + 0.1 * np.abs(x)) * rng.randn(n)


x_train, y_train = noisy_sine(3000, 0)
x_test, y_test = noisy_sine(10000, 1)


def network(**loss):
    return make_pipeline(StandardScaler(), MLPRegressor(
        hidden_layer_sizes=(32, 32), activation="tanh", learning_rate_init=0.01,
        learning_rate="cosine", max_iter=300, tol=0, n_iter_no_change=300,
        random_state=0, **loss))


quantiles = (0.05, 0.5, 0.95)
models = {q: network(loss="quantile", quantile=q).fit(x_train[:, None], y_train)
          for q in quantiles}
predicted = {q: model.predict(x_test[:, None]) for q, model in models.items()}
for q in quantiles:
    below = np.mean(y_test <= predicted[q])
    print(f"q = {q:.2f}: {below:.3f} of the held-out targets lie below the model")
inside = (predicted[0.05] <= y_test) & (y_test <= predicted[0.95])
print(f"90 % interval: covers {inside.mean():.3f} of the held-out targets")

# %%
# The same interval from a squared-error fit and its residuals: the mean
# plus or minus 1.645 times the residuals' standard deviation covers about
# 90 % of the points overall, but it is too wide near 0 and too narrow at
# the ends, where the noise is. The quantile models' interval covers about
# 90 % everywhere.

mean_model = network().fit(x_train[:, None], y_train)
spread = Z95 * np.std(y_train - mean_model.predict(x_train[:, None]))
mean_test = mean_model.predict(x_test[:, None])
constant = np.abs(y_test - mean_test) <= spread
near, far = np.abs(x_test) < 2, np.abs(x_test) > 4
print("coverage       all    |x| < 2  |x| > 4")
for name, covered in (("quantiles", inside), ("mean +- bar", constant)):
    print(f"{name:<12} {covered.mean():6.3f} {covered[near].mean():8.3f} "
          f"{covered[far].mean():8.3f}")

# %%
# The fitted quantiles against the true ones, :math:`\sin x + z_q\,\sigma(x)`:

grid = np.linspace(-2 * np.pi, 2 * np.pi, 400)
sigma = 0.05 + 0.1 * np.abs(grid)
curves = {q: model.predict(grid[:, None]) for q, model in models.items()}
mean_curve = mean_model.predict(grid[:, None])

fig, axes = plt.subplots(1, 2, figsize=(13, 4.5), layout="constrained", sharey=True)
for ax in axes:
    ax.scatter(x_train[::3], y_train[::3], s=3, color="0.7", label="training points")
    ax.plot(grid, np.sin(grid), color="k", lw=1, label="$\\sin x$")
    for z in (-Z95, Z95):
        ax.plot(grid, np.sin(grid) + z * sigma, color="k", ls="--", lw=1)
    ax.set_xlabel("$x$")
left, right = axes
left.fill_between(grid, curves[0.05], curves[0.95], color="#1f77b4", alpha=0.3,
                  label="q = 0.05 to 0.95")
left.plot(grid, curves[0.5], color="#1f77b4", lw=2, label="q = 0.5 (median)")
left.set_title(f"Quantile networks: 90 % interval covers {inside.mean():.1%} (held out)")
right.fill_between(grid, mean_curve - spread, mean_curve + spread, color="#d62728",
                   alpha=0.3, label="mean $\\pm$ 1.645 sd")
right.plot(grid, mean_curve, color="#d62728", lw=2, label="squared error (mean)")
right.set_title(f"Squared error + constant bar: covers {constant.mean():.1%} (held out)")
for ax in axes:
    ax.legend(fontsize=8, loc="upper left")
fig.suptitle("Prediction intervals on $\\sin x$ with noise growing with $|x|$ "
             "(dashed: true 5 % and 95 % quantiles)")
plt.show()
