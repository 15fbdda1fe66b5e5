"""cymlp: scikit-learn's multilayer perceptrons on typed Cython kernels."""

from ._classes import MLPClassifier, MLPRegressor

__version__ = "0.1.0"
__all__ = ["MLPClassifier", "MLPRegressor", "__version__"]
