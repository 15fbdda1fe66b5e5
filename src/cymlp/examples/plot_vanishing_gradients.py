"""
Vanishing gradients, by activation
==================================

The same network -- **10 hidden layers of 32 units**, Adam -- is trained with
each hidden activation, and ``gradient_norms_`` records the norm of the loss
gradient with respect to each weight matrix. Backpropagation multiplies the
error by the activation's derivative once per layer: the logistic's is at
most 1/4, so the gradient reaching the layers near the input is orders of
magnitude smaller than at the output, and the network does not learn (its
loss stays at :math:`\\log 2`, chance). Relu's derivative is 1 where it is
active, and the gradient keeps its size through the layers.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from cymlp import MLPClassifier

# A fixed epoch budget: every fit runs its full `epochs`.
warnings.simplefilter("ignore", ConvergenceWarning)

n_samples, epochs = 1500, 60
# sphinx_gallery_start_ignore
# `python -m cymlp demo --quick` runs this script with less data, fewer epochs.
import os

if os.environ.get("CYMLP_DEMO_QUICK") == "1":
    n_samples, epochs = 600, 25
# sphinx_gallery_end_ignore
X, y = make_classification(n_samples=n_samples, n_features=10, n_informative=6,
                           random_state=0)
X = StandardScaler().fit_transform(X)

depth, width = 10, 32
nets, early_norms, scores = {}, {}, {}
for activation in ["logistic", "tanh", "relu", "leaky_relu"]:
    net = MLPClassifier(hidden_layer_sizes=(width,) * depth, activation=activation,
                        solver="adam", learning_rate_init=1e-3, max_iter=epochs,
                        n_iter_no_change=epochs, random_state=0).fit(X, y)
    # gradient_norms_: one row per epoch, one column per weight matrix (the
    # first hidden layer's to the output layer's). The mean of the first five
    # epochs shows the gradient before training has changed much.
    early = net.gradient_norms_[:5].mean(axis=0)
    nets[activation], early_norms[activation] = net, early
    scores[activation] = {
        "grad_first": early[0],
        "grad_last": early[-1],
        "grad_ratio": early[-1] / early[0],
        "loss": net.loss_curve_[-1],
        "accuracy": net.score(X, y),
    }
    print(f"{activation:>10}: output / first layer gradient = "
          f"{scores[activation]['grad_ratio']:9.3g}, "
          f"training accuracy {scores[activation]['accuracy']:.1%}")

colors = {"logistic": "#d62728", "tanh": "#9467bd", "relu": "#1f77b4",
          "leaky_relu": "#2ca02c"}
layers = np.arange(1, depth + 2)
fig, (ax_grad, ax_loss) = plt.subplots(1, 2, figsize=(12, 4.6), layout="constrained")
for activation, net in nets.items():
    score = scores[activation]
    ax_grad.plot(layers, early_norms[activation], "o-", color=colors[activation],
                 label=f"{activation} (output / first = {score['grad_ratio']:,.3g}x)")
    epochs_run = np.arange(1, len(net.loss_curve_) + 1)
    ax_loss.plot(epochs_run, net.loss_curve_, color=colors[activation], lw=2,
                 label=f"{activation} (accuracy {score['accuracy']:.1%})")
ax_grad.set_yscale("log")
ax_grad.set_xticks(layers, [str(i) for i in layers[:-1]] + ["out"])
ax_grad.set(xlabel="weight matrix (1 = nearest the input)",
            ylabel="gradient norm, mean of epochs 1-5",
            title="gradient reaching each layer")
ax_grad.legend(fontsize=8)
ax_loss.axhline(np.log(2), color="0.5", ls="--", lw=1, label="log 2 (chance)")
ax_loss.set(xlabel="epoch", ylabel="training log-loss", title="loss curves")
ax_loss.legend(fontsize=8)
fig.suptitle(f"Vanishing gradients: {depth} hidden layers of {width} units, Adam")
plt.show()
