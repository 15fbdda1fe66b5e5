"""
Batch normalization and dropout on a deep network
=================================================

Two of cymlp's extras on the digits (8x8 images, 10 classes), with only 300
training images and the rest held out.

**Batch normalization** (``batch_norm=True``) normalizes each hidden layer's
pre-activation over the mini-batch. A network of 8 logistic layers does not
train at all with Adam in 100 epochs -- the gradient vanishes on its way to
the first layers and the loss stays at :math:`\\log 10`, chance -- while the
same network with batch normalization fits the training set: each layer's
units are kept where the logistic's slope is not flat.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from cymlp import MLPClassifier

# A fixed epoch budget: every fit runs its full 100 epochs.
warnings.simplefilter("ignore", ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16, y, train_size=300, random_state=0, stratify=y
)
deep = dict(hidden_layer_sizes=(64,) * 8, batch_size=32, max_iter=100,
            n_iter_no_change=100, random_state=0)

fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
for batch_norm in (False, True):
    net = MLPClassifier(activation="logistic", batch_norm=batch_norm, **deep)
    net.fit(X_train, y_train)
    ax.plot(net.loss_curve_, lw=2,
            label=f"batch_norm={batch_norm}: test accuracy "
                  f"{net.score(X_test, y_test):.1%}")
ax.axhline(np.log(10), color="0.5", ls="--", lw=1, label="log 10 (chance)")
ax.set_xlabel("epoch")
ax.set_ylabel("training log-loss")
ax.set_title("8 logistic layers of 64 units, Adam")
ax.legend()

# %%
# Dropout
# -------
#
# **Dropout** zeroes each hidden unit with probability ``dropout`` at each
# training step, so no unit can rely on a particular other one: a
# regularizer. With 300 images a deep relu network fits its training set
# perfectly; the held-out accuracy is what dropout can change. Here a rate of
# 0.1 raises it, while 0.3 is too much for 8 layers and 300 images: the
# network no longer fits even its training set. Prediction always uses the
# whole network.

rates = [0.0, 0.1, 0.3]
train_scores, test_scores = [], []
for rate in rates:
    net = MLPClassifier(activation="relu", batch_norm=True, dropout=rate, **deep)
    net.fit(X_train, y_train)
    train_scores.append(net.score(X_train, y_train))
    test_scores.append(net.score(X_test, y_test))
    print(f"dropout={rate}: train {train_scores[-1]:.1%}, test {test_scores[-1]:.1%}")

fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
positions = np.arange(len(rates))
ax.bar(positions - 0.2, train_scores, width=0.4, label="training images")
ax.bar(positions + 0.2, test_scores, width=0.4, label="held-out images")
ax.set_xticks(positions, [f"dropout={rate}" for rate in rates])
ax.set_ylim(0.5, 1.01)
ax.set_ylabel("accuracy")
ax.set_title("8 relu layers of 64 units with batch_norm, Adam")
ax.legend(loc="lower right")
plt.show()
