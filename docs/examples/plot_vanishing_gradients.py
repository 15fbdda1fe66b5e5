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

from cymlp._experiments import fit_vanishing_gradients, plot_vanishing_gradients

result = fit_vanishing_gradients()
for activation, scores in result["scores"].items():
    print(f"{activation:>10}: output / first layer gradient = "
          f"{scores['grad_ratio']:9.3g}, training accuracy {scores['accuracy']:.1%}")
plot_vanishing_gradients(result)
