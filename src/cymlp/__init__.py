"""cymlp: scikit-learn's multilayer perceptrons on typed Cython kernels."""

from importlib.metadata import version as _version

from ._classes import MLPClassifier, MLPRegressor
from ._show_config import show_config

# The version is written once, in meson.build's project(); the build copies
# it into the installed distribution's metadata, read here (about 1 ms).
__version__ = _version("cymlp")
__all__ = ["MLPClassifier", "MLPRegressor", "show_config", "__version__"]
