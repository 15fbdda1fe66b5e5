"""
Decision boundaries: AND, XOR and circles
=========================================

Universal approximation for classes. AND is linearly separable, so a network
with **no hidden layer** (logistic regression) fits it. XOR is not: no single
line separates its classes, and it needs a hidden layer -- **two tanh units**
are enough. Two concentric circles need a closed boundary, which **four tanh
units** draw.
"""

from cymlp._experiments import fit_classification, plot_decision_boundaries, plot_xor_hidden

result = fit_classification()
for name, scores in result["scores"].items():
    print(f"{name}: accuracy {scores['accuracy']:.1%}")
plot_decision_boundaries(result)

# %%
# How the hidden layer solves XOR
# -------------------------------
#
# Each hidden unit computes :math:`\tanh(w_1 x_1 + w_2 x_2 + b)`: it draws one
# line in the input plane (left) and tells on which side of it a point lies.
# In the space of the two hidden units' outputs (right, from
# ``hidden_activations``) the four points become linearly separable, and the
# output unit separates them with one line.

plot_xor_hidden(result)
