"""The warnings cymlp shares with scikit-learn's MLP, filtered as scikit-learn's are.

scikit-learn's MLP warns from ``sklearn.neural_network._multilayer_perceptron``,
so scripts written for it filter with, say,
``warnings.filterwarnings("ignore", category=ConvergenceWarning, module="sklearn")``.
cymlp gives the same warnings with the same text (the convergence warnings
of every solver, the ``batch_size`` clipping, "Training interrupted by
user.", the column-vector y) through :func:`warn`, which counts each one as
coming from both modules: scikit-learn's MLP module and the cymlp module
that warns. A filter written for either applies; of the filters that match
either module, the first in the filter list decides, as for any warning.
Python's own machinery then shows, ignores or raises it.
"""

import sys
import warnings

from sklearn.exceptions import ConvergenceWarning, DataConversionWarning

SKLEARN_MODULE = "sklearn.neural_network._multilayer_perceptron"


def _first_filter(filters, text, category, module, lineno):
    """Index of the first filter matching the warning (len(filters) if none)."""
    for i, (_, message, cat, mod, line) in enumerate(filters):
        if ((message is None or message.match(text)) and issubclass(category, cat)
                and (mod is None or mod.match(module)) and line in (0, lineno)):
            return i
    return len(filters)


def warn(message, category=UserWarning):
    """``warnings.warn(message, category)`` from the caller, as from both modules."""
    _emit(sys._getframe(1), message, category)


def _emit(frame, message, category):
    """Warn from ``frame``'s file, line and module, or from scikit-learn's MLP module."""
    caller = frame.f_globals
    # Python 3.14's context-aware warnings (free-threaded builds) keep
    # catch_warnings' filters per context; elsewhere they are warnings.filters
    filters = getattr(warnings, "_get_filters", lambda: warnings.filters)()
    module = min((SKLEARN_MODULE, caller.get("__name__", "cymlp")),
                 key=lambda name: _first_filter(filters, message, category, name,
                                                frame.f_lineno))
    warnings.warn_explicit(
        message, category, frame.f_code.co_filename, frame.f_lineno, module=module,
        registry=caller.setdefault("__warningregistry__", {}), module_globals=caller,
    )


def check_lbfgs_result(result, max_iter):
    """n_iter_ of an L-BFGS run; warns as scikit-learn's ``_check_optimize_result``."""
    n_iter = min(result.nit, max_iter)
    if result.status != 0:
        message = (f"lbfgs failed to converge after {n_iter} iteration(s) "
                   f"(status={result.status}):\n{result.message}\n")
        if n_iter == max_iter:
            message += ("\nIncrease the number of iterations to improve the "
                        f"convergence (max_iter={max_iter}).")
        message += ("\nYou might also want to scale the data as shown in:\n"
                    "    https://scikit-learn.org/stable/modules/preprocessing.html")
        _emit(sys._getframe(1), message, ConvergenceWarning)
    return n_iter


def column_vector_y_warning():
    """scikit-learn's warning for a y of shape (n, 1), as its MLP gives it."""
    _emit(
        sys._getframe(1),
        "A column-vector y was passed when a 1d array was expected. Please change "
        "the shape of y to (n_samples, ), for example using ravel().",
        DataConversionWarning)
