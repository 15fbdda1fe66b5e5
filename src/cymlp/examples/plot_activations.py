"""
Activation functions and their derivatives
==========================================

Each hidden activation of cymlp, computed by cymlp's own kernels: a network
with one input and one hidden unit of weight 1 and bias 0 outputs
:math:`f(z)` from ``hidden_activations``; its derivative :math:`f'(z)` is
taken numerically. The derivative is what backpropagation multiplies the
error by at each layer: the logistic's never exceeds 1/4 (hence
:ref:`vanishing gradients <sphx_glr_auto_examples_plot_vanishing_gradients.py>`),
relu's is 0 or 1, and the leaky variants keep a small slope below zero. See
:ref:`activations` for the formulas.
"""

import matplotlib.pyplot as plt
import numpy as np

from cymlp import MLPRegressor

z = np.linspace(-4, 4, 801)
activations = ["identity", "logistic", "tanh", "relu",
               "leaky_relu", "prelu", "elu", "gelu"]

fig, axes = plt.subplots(2, 4, figsize=(13, 6), sharex=True, layout="constrained")
for ax, activation in zip(axes.ravel(), activations):
    net = MLPRegressor(hidden_layer_sizes=(1,), activation=activation,
                       negative_slope=0.1)
    net.partial_fit(z[:5, None], z[:5])    # one step, to set up the network
    net.coefs_[0][...] = 1.0               # z -> the hidden unit, unchanged
    net.intercepts_[0][...] = 0.0
    if activation == "prelu":
        net.prelu_slopes_[0][...] = 0.25   # PReLU's initial slope
    f = net.hidden_activations(z[:, None])[0][:, 0]
    ax.plot(z, f, lw=2, label="$f(z)$")
    ax.plot(z, np.gradient(f, z), lw=2, ls="--", label="$f'(z)$")
    ax.axhline(0, color="0.7", lw=0.8)
    ax.axvline(0, color="0.7", lw=0.8)
    ax.set_ylim(-1.5, 2.5)
    ax.set_title(activation)
axes[0, 0].legend()
for ax in axes[1]:
    ax.set_xlabel("$z$")
fig.suptitle("cymlp's hidden activations (leaky_relu with negative_slope=0.1, "
             "prelu at its initial slope 0.25)")
plt.show()
