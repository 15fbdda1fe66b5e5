"""scikit-learn's own MLP tests, run against cymlp.

The installed ``sklearn/neural_network/tests/test_mlp.py`` is read, its
import of scikit-learn's estimators is swapped for cymlp's, and the result is
executed as this module's body, so pytest collects scikit-learn's tests here
(each one reported on its own). Tests that use scikit-learn's private
internals are skipped by name in ``SKLEARN_PRIVATE``, each with its reason;
every other test must pass.
"""

import pathlib

import pytest
import sklearn.neural_network
from threadpoolctl import threadpool_limits

import cymlp

_SKLEARN_IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor\n"
_CYMLP_IMPORT = "from cymlp import MLPClassifier, MLPRegressor\n"

SKLEARN_PRIVATE = {
    "test_gradient": "calls scikit-learn's private _loss_grad_lbfgs; cymlp's gradients "
                     "are checked against finite differences in test_kernels.py",
}


def _sklearn_test_source():
    path = pathlib.Path(sklearn.neural_network.__file__).parent / "tests" / "test_mlp.py"
    source = path.read_text()
    # exactly one import to swap: if scikit-learn changes it, fail loudly
    assert source.count(_SKLEARN_IMPORT) == 1, f"{path} no longer imports {_SKLEARN_IMPORT}"
    assert source.count("sklearn.neural_network import") == 1
    return path, source.replace(_SKLEARN_IMPORT, _CYMLP_IMPORT)


_path, _source = _sklearn_test_source()
# The same line numbers as the installed file, so tracebacks point into it
exec(compile(_source, str(_path), "exec"), globals())

for _name, _reason in SKLEARN_PRIVATE.items():
    globals()[_name] = pytest.mark.skip(reason=_reason)(globals()[_name])


def test_the_estimators_under_test_are_cymlps():
    # scikit-learn's tests find the estimators in this module's globals
    namespace = globals()
    assert namespace["MLPClassifier"] is cymlp.MLPClassifier
    assert namespace["MLPRegressor"] is cymlp.MLPRegressor
    sklearns = (sklearn.neural_network.MLPClassifier, sklearn.neural_network.MLPRegressor)
    assert not [name for name, value in namespace.items()
                if any(value is cls for cls in sklearns)]
    assert all(f.__globals__ is namespace for name, f in namespace.items()
               if name.startswith("test_") and callable(f))


@pytest.fixture
def global_random_seed():
    """scikit-learn's conftest fixture, at its default seed."""
    return 42


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """scikit-learn's problems are tiny: BLAS threads would only add overhead
    (test_partial_fit_classification: 100 partial_fit calls)."""
    with threadpool_limits(1):
        yield
