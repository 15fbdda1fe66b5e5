"""cymlp: scikit-learn's multilayer perceptrons on typed Cython kernels."""

from ._build_config import VERSION as __version__
from ._classes import MLPClassifier, MLPRegressor
from ._show_config import show_config
from ._state import InconsistentVersionWarning

# The version is written once, in meson.build's project(); the build copies
# it into the installed distribution's metadata and into _build_config.
__all__ = ["InconsistentVersionWarning", "MLPClassifier", "MLPRegressor", "show_config",
           "__version__"]
