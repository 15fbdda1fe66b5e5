"""Save one fitted model of each kind, as this version of cymlp writes them.

Run from a checkout with cymlp installed (``python tools/save_reference_models.py
OUTDIR``). It writes, for every kind in ``KINDS``, ``KIND.pkl`` (pickle,
protocol 5), ``KIND.joblib`` and ``KIND.skops``, and one ``expected.npz``
holding each kind's training data (X, whether X was sparse, y) and what the
model computes: its
predictions (and probabilities), and its predictions after one more step of
training (``partial_fit``, or a warm-started fit of 3 iterations where
partial_fit does not apply). ``tests/test_saved_models.py`` loads the files
with later versions and checks both.

The models of ``tests/data/models-0.1.0`` were written by cymlp 0.1.0 (commit
ccadab1) with scikit-learn 1.9.1, numpy 2.4 and skops 0.16.
"""

import pickle
import sys
import warnings
from pathlib import Path

import joblib
import numpy as np
import scipy.sparse as sp
import skops.io as sio

from cymlp import MLPClassifier, MLPRegressor


def data(kind, n=60, d=5):
    """Small deterministic data of a target ``kind``."""
    rng = np.random.RandomState(0)
    X = rng.randn(n, d)
    if kind == "binary":
        return X, (X[:, 0] + X[:, 1] > 0).astype(int)
    if kind == "multiclass":
        return X, np.array(["low", "mid", "high"])[np.digitize(X[:, 0], [-0.4, 0.4])]
    if kind == "multilabel":
        return X, np.c_[X[:, 0] > 0, X[:, 1] > 0, X[:, 0] + X[:, 2] > 0].astype(int)
    if kind == "multi-output":
        return X, X[:, :2] @ rng.randn(2, 2)
    if kind == "poisson":
        return X, rng.poisson(np.exp(0.3 * X[:, 0])).astype(float)
    return X, X[:, 0] - 2 * X[:, 1] + 0.1 * rng.randn(n)


# kind: (estimator, data kind, X dtype, sparse X, how it was trained)
KINDS = {
    "binary-adam": (MLPClassifier((6,), max_iter=5, random_state=0), "binary",
                    np.float64, False, "fit"),
    "multiclass-sgd": (MLPClassifier((6, 4), activation="tanh", solver="sgd",
                                     learning_rate="adaptive", max_iter=5, random_state=0),
                       "multiclass", np.float64, False, "fit"),
    "multilabel": (MLPClassifier((6,), activation="logistic", max_iter=5, random_state=0),
                   "multilabel", np.float64, False, "fit"),
    "regressor-multi-output": (MLPRegressor(hidden_layer_sizes=(7, 3), max_iter=5, random_state=0),
                               "multi-output", np.float64, False, "fit"),
    "lbfgs": (MLPClassifier((6,), solver="lbfgs", max_iter=20, random_state=0),
              "multiclass", np.float64, False, "fit"),
    "batch-norm": (MLPClassifier((6, 5), batch_norm=True, max_iter=5, random_state=0),
                   "multiclass", np.float64, False, "fit"),
    "prelu": (MLPRegressor(hidden_layer_sizes=(6,), activation="prelu", max_iter=5, random_state=0),
              "regression", np.float64, False, "fit"),
    "dropout": (MLPClassifier((8,), dropout=0.25, solver="sgd", max_iter=5,
                              random_state=0), "binary", np.float64, False, "fit"),
    "partially-fitted": (MLPRegressor(hidden_layer_sizes=(5,), solver="sgd", random_state=0), "regression",
                         np.float64, False, "partial_fit"),
    "float32-extras": (MLPClassifier((6, 5), activation=["gelu", "elu"], batch_norm=True,
                                     dropout=[0.2, 0.0], max_iter=5, random_state=0),
                       "multiclass", np.float32, False, "fit"),
    "early-stopping": (MLPClassifier((6,), solver="sgd", early_stopping=True, max_iter=8,
                                     random_state=0), "multiclass", np.float64, False, "fit"),
    "poisson": (MLPRegressor(hidden_layer_sizes=(4,), loss="poisson", max_iter=5, random_state=0), "poisson",
                np.float64, False, "fit"),
    "sparse-trained": (MLPClassifier((6,), activation="leaky_relu", max_iter=5,
                                     random_state=0), "binary", np.float64, True, "fit"),
    "class-weight-lbfgs-batch-norm": (
        MLPClassifier((5,), solver="lbfgs", batch_norm=True, class_weight="balanced",
                      max_iter=10, random_state=0), "multiclass", np.float64, False, "fit"),
}


def training_data(kind):
    """(X, y) a kind was trained on, in its dtype and format."""
    _, data_kind, dtype, sparse, _ = KINDS[kind]
    X, y = data(data_kind)
    X = X.astype(dtype)
    return (sp.csr_matrix(X) if sparse else X), y


def outputs(model, X):
    """What the saved files must still compute."""
    out = {"predict": model.predict(X)}
    if isinstance(model, MLPClassifier):
        out["predict_proba"] = model.predict_proba(X)
    return out


def keep_training(model, X, y):
    """One more step of training, as a user of the loaded model would take it."""
    if model.solver != "lbfgs" and not model.early_stopping:
        return model.partial_fit(X, y)
    return model.set_params(warm_start=True, max_iter=3).fit(X, y)


def main(outdir):
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    expected = {}
    warnings.simplefilter("ignore")   # short fits: ConvergenceWarning
    for kind, (model, _, _, _, how) in KINDS.items():
        X, y = training_data(kind)
        expected[f"{kind}/X"] = X.toarray() if sp.issparse(X) else X
        expected[f"{kind}/X_is_sparse"] = np.array(sp.issparse(X))
        expected[f"{kind}/y"] = y
        if how == "partial_fit":
            model.partial_fit(X, y)
            model.partial_fit(X, y)
        else:
            model.fit(X, y)
        with open(outdir / f"{kind}.pkl", "wb") as f:
            pickle.dump(model, f, protocol=5)
        joblib.dump(model, outdir / f"{kind}.joblib")
        sio.dump(model, outdir / f"{kind}.skops")
        for name, value in outputs(model, X).items():
            expected[f"{kind}/{name}"] = value
        for name, value in outputs(keep_training(model, X, y), X).items():
            expected[f"{kind}/trained-on/{name}"] = value
    np.savez_compressed(outdir / "expected.npz", **expected)


if __name__ == "__main__":
    main(sys.argv[1])
