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

from cymlp._experiments import fit_regression, plot_regression

result = fit_regression()
for name, scores in result["scores"].items():
    print(f"{name}: held-out R² {scores['r2']:.5f}")
plot_regression(result)
