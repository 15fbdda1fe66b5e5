"""L-BFGS reports its progress with ``verbose``, as the stochastic solvers do.

scikit-learn's L-BFGS prints nothing (scikit-learn issue 10236); cymlp's
prints one line per iteration, ``Iteration i, loss = ...``, in the format of
the stochastic solvers' per-epoch lines, and nothing without ``verbose``.
"""

import re

import numpy as np
import pytest

from cymlp import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
LINE = re.compile(r"^Iteration (\d+), loss = (\d+\.\d{8})$")


def data(n=150, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 4)
    return X, X[:, 0] - X[:, 1] + 0.1 * rng.randn(n)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_lbfgs_prints_one_line_per_iteration_with_the_loss(cls, capsys):
    X, y = data()
    if cls is MLPClassifier:
        y = y > 0
    est = cls(solver="lbfgs", hidden_layer_sizes=(5,), max_iter=15, verbose=True,
              random_state=0).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    matches = [LINE.match(line) for line in lines]
    assert all(matches), lines
    assert [int(m.group(1)) for m in matches] == list(range(1, est.n_iter_ + 1))
    losses = [float(m.group(2)) for m in matches]
    assert losses == sorted(losses, reverse=True)       # L-BFGS never goes up
    assert abs(losses[-1] - est.loss_) <= 5e-9          # the last is the final loss
    assert len(est.gradient_norms_) == est.n_iter_


def test_lbfgs_prints_nothing_without_verbose(capsys):
    X, y = data()
    MLPRegressor(solver="lbfgs", hidden_layer_sizes=(5,), max_iter=5,
                 random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""
