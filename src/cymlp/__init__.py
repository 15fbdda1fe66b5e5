"""cymlp: scikit-learn's multilayer perceptrons on typed Cython kernels."""

from ._classes import MLPClassifier, MLPRegressor
from ._show_config import show_config

__version__ = "0.1.0"
__all__ = ["MLPClassifier", "MLPRegressor", "show_config", "__version__"]
