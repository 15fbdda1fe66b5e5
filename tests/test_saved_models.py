"""Models saved by earlier versions of cymlp still load, predict and train.

``tests/data/models-0.1.0`` holds one model of each kind (classifiers:
binary, multiclass, multilabel; regressors; every solver; batch norm, PReLU,
dropout, float32, sparse-trained, early stopping, a partially fitted model)
as cymlp 0.1.0 saved them with pickle, joblib and skops, with their training
data and what they computed then (``tools/save_reference_models.py`` wrote
them). Loaded here, each must predict what it predicted then and, after one
more step of training, what it predicted after that step then.

The expected values were computed on another machine, whose BLAS may round
differently: the comparison allows a few units in the last place of float64
(float32 models: of float32), far below any real change of the model.
"""

import pickle
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from sklearn.exceptions import InconsistentVersionWarning as SklearnVersionWarning

import cymlp
from cymlp import InconsistentVersionWarning, MLPClassifier

# The files were written under NumPy 2, whose pickles (numpy._core, the
# random generators' state) NumPy 1.x cannot read: numpy's limit, not cymlp's.
needs_numpy_2 = pytest.mark.skipif(np.lib.NumpyVersion(np.__version__) < "2.0.0",
                                   reason="models saved under NumPy 2 need NumPy >= 2 to load")
pytestmark = needs_numpy_2

DATA = Path(__file__).parent / "data" / "models-0.1.0"
EXPECTED = np.load(DATA / "expected.npz")
KINDS = sorted({name.split("/")[0] for name in EXPECTED.files})
# what skops may ask to trust: cymlp's estimators and optimizer states
CYMLP_TYPES = {"cymlp._classes.MLPClassifier", "cymlp._classes.MLPRegressor",
               "cymlp._optim.SGDState", "cymlp._optim.AdamState"}


def load(kind, how):
    path = DATA / f"{kind}.{how}"
    if how == "pkl":
        with open(path, "rb") as f:
            return pickle.load(f)
    if how == "joblib":
        return joblib.load(path)
    sio = pytest.importorskip("skops.io")
    untrusted = sio.get_untrusted_types(file=path)
    assert set(untrusted) <= CYMLP_TYPES, untrusted
    return sio.load(path, trusted=untrusted)


def training_data(kind):
    X, y = EXPECTED[f"{kind}/X"], EXPECTED[f"{kind}/y"]
    return (sp.csr_matrix(X) if EXPECTED[f"{kind}/X_is_sparse"] else X), y


def assert_outputs(model, X, prefix):
    for name in ("predict", "predict_proba"):
        key = f"{prefix}/{name}"
        if key not in EXPECTED.files:
            assert not isinstance(model, MLPClassifier)
            continue
        got, want = getattr(model, name)(X), EXPECTED[key]
        if want.dtype.kind in "fc":
            rtol = 1e-5 if want.dtype == np.float32 else 1e-10
            assert_allclose(got, want, rtol=rtol, atol=rtol * 1e-2, err_msg=key)
            assert got.dtype == want.dtype, key
        else:
            assert_array_equal(got, want, err_msg=key)


def test_every_kind_was_saved_in_every_format():
    assert len(KINDS) == 14
    for kind in KINDS:
        for how in ("pkl", "joblib", "skops"):
            assert (DATA / f"{kind}.{how}").is_file()


@pytest.mark.parametrize("how", ["pkl", "joblib", "skops"])
@pytest.mark.parametrize("kind", KINDS)
def test_old_model_loads_predicts_and_keeps_training(kind, how):
    with pytest.warns(InconsistentVersionWarning) as caught:
        model = load(kind, how)
    # one warning of ours (scikit-learn adds its own for its estimators when
    # its version differs from the saving one's): a subclass of scikit-learn's
    # warning, naming both cymlp versions
    ours = [w for w in caught if w.category is InconsistentVersionWarning]
    assert len(ours) == 1
    assert issubclass(ours[0].category, SklearnVersionWarning)
    message = str(ours[0].message)
    assert "from cymlp version 0.1.0 or earlier" in message
    assert f"using cymlp version {cymlp.__version__}" in message
    X, y = training_data(kind)
    assert_outputs(model, X, kind)
    # the fitted arrays are the model: views of its parameters
    bases = {id(a.base) for a in model.coefs_ + model.intercepts_}
    assert len(bases) == 1 and model.coefs_[0].base is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # short fits: ConvergenceWarning
        if model.solver != "lbfgs" and not model.early_stopping:
            model.partial_fit(X, y)
        else:
            model.set_params(warm_start=True, max_iter=3).fit(X, y)
    assert_outputs(model, X, f"{kind}/trained-on")
