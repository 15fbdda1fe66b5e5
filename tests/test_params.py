"""The constructor parameters (``_params``): their checks, per-layer lists and
the initial weights.

The per-hidden-layer settings (activation, dropout) and hidden_layer_sizes
are checked with scikit-learn's exception types; every shared parameter has
scikit-learn's constraint; the initial weights are scikit-learn's ('auto')
or follow each scheme's distribution. (The estimators' refusal of invalid
parameter values, against scikit-learn's messages, is in test_behaviour.py.)
"""

import numpy as np
import pytest
import sklearn.neural_network as skn
from numpy.testing import assert_array_equal

import datasets
from cymlp import MLPClassifier
from cymlp._params import (
    HIDDEN_ACTIVATIONS,
    PARAMETER_CONSTRAINTS,
    dropout_list,
    hidden_activation_list,
    hidden_layer_list,
    initial_weights,
    per_layer,
)

pytestmark = pytest.mark.usefixtures("quiet")


def _describe(constraint):
    """A constraint as comparable data (option sets in any order)."""
    options = getattr(constraint, "options", None)
    if options is not None:
        return (type(constraint).__name__, frozenset(options))
    return str(constraint)


def test_shared_parameters_have_sklearns_constraints():
    theirs = skn.MLPClassifier._parameter_constraints
    beyond = {"activation", "negative_slope", "dropout", "batch_norm", "weight_init",
              "scoring", "n_jobs"}
    for name, constraint in PARAMETER_CONSTRAINTS.items():
        if name in beyond:
            continue
        if name == "learning_rate":   # and 'cosine' (beyond scikit-learn)
            options = _describe(constraint[0])[1]
            assert options - {"cosine"} == _describe(theirs[name][0])[1]
            continue
        assert [_describe(c) for c in constraint] == [_describe(c) for c in theirs[name]], name
    # every scikit-learn parameter but the regressor's loss (declared by each class)
    assert set(theirs) - set(PARAMETER_CONSTRAINTS) <= {"loss"}


def test_hidden_layer_sizes_become_a_list_of_ints():
    assert hidden_layer_list(5) == [5]
    assert hidden_layer_list((3, np.int64(2))) == [3, 2]
    assert hidden_layer_list(()) == []
    with pytest.raises(ValueError, match=r"must be > 0, got \[3, 0\]"):
        hidden_layer_list((3, 0))
    with pytest.raises(TypeError, match="must hold integers"):
        hidden_layer_list((3, 2.5))
    with pytest.raises(ValueError, match="at most 2147483647"):
        hidden_layer_list((2**31,))


def test_per_layer_settings_repeat_or_must_fit():
    assert per_layer(0.1, 3, "dropout") == [0.1, 0.1, 0.1]
    assert per_layer(["relu", "tanh"], 2, "activation") == ["relu", "tanh"]
    with pytest.raises(ValueError, match="activation has 3 entries but hidden_layer_sizes "
                                         "has 2 hidden layers"):
        per_layer(["relu"] * 3, 2, "activation")
    assert hidden_activation_list("gelu", 2) == ["gelu", "gelu"]
    with pytest.raises(ValueError, match="Unknown activation 'swish'"):
        hidden_activation_list(["relu", "swish"], 2)
    assert set(HIDDEN_ACTIVATIONS) >= {"identity", "logistic", "tanh", "relu"}
    assert dropout_list([0, 0.5], 2) == [0.0, 0.5]
    for bad in (1.0, -0.1, "0.5"):
        with pytest.raises(ValueError, match="dropout rates must be numbers in"):
            dropout_list(bad, 1)


def test_auto_init_draws_sklearns_weights_in_its_order():
    units = [5, 7, 4, 3]
    coefs, intercepts = initial_weights(np.random.RandomState(3), "auto", ["relu", "relu"],
                                        units, "relu")
    ref = skn.MLPClassifier(activation="relu")
    ref._random_state = np.random.RandomState(3)
    for i, (fan_in, fan_out) in enumerate(zip(units[:-1], units[1:])):
        coef, intercept = ref._init_coef(fan_in, fan_out, np.float64)
        assert_array_equal(coefs[i], coef)
        assert_array_equal(intercepts[i], intercept)
    # the logistic units get scikit-learn's smaller bound (factor 2, not 6)
    rs = np.random.RandomState(0)
    small, _ = initial_weights(rs, "auto", ["logistic"], [5, 7, 3], "logistic")
    assert np.abs(small[0]).max() <= np.sqrt(2 / 12)


@pytest.mark.parametrize("scheme", ["glorot_uniform", "glorot_normal", "he_uniform",
                                    "he_normal"])
def test_weight_init_schemes(scheme):
    X = np.zeros((10, 400))
    y = np.arange(10) % 2
    clf = MLPClassifier(hidden_layer_sizes=(300,), weight_init=scheme, max_iter=1,
                        learning_rate_init=1e-12, random_state=0).fit(X, y)
    w = clf.coefs_[0]
    fan_in, fan_out = w.shape
    expected_std = {
        "glorot_uniform": np.sqrt(6 / (fan_in + fan_out)) / np.sqrt(3),
        "glorot_normal": np.sqrt(2 / (fan_in + fan_out)),
        "he_uniform": np.sqrt(6 / fan_in) / np.sqrt(3),
        "he_normal": np.sqrt(2 / fan_in),
    }[scheme]
    assert abs(w.std() / expected_std - 1) < 0.02
    if scheme.endswith("uniform"):
        assert np.abs(w).max() <= expected_std * np.sqrt(3)
    assert np.abs(clf.intercepts_[0]).max() < 1e-9


def test_weight_init_auto_is_scikit_learns():
    from sklearn.neural_network import MLPClassifier as SkMLP
    X, y = datasets.make("multiclass", n=240, d=8)
    ours = MLPClassifier(hidden_layer_sizes=(7,), max_iter=1, random_state=3).fit(X, y)
    theirs = SkMLP(hidden_layer_sizes=(7,), max_iter=1, random_state=3).fit(X, y)
    np.testing.assert_allclose(ours.coefs_[0], theirs.coefs_[0], rtol=1e-12)
