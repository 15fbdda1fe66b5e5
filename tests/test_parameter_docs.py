"""Every constructor parameter and ``fit`` argument has its numpydoc entry, and
every parameter its entry (description and link) in the estimator's HTML repr.

scikit-learn builds the HTML repr's parameter table from the class docstring
(``sklearn.utils._repr_html``): a parameter missing from the docstring shows
no description there.
"""

import html
import inspect

import pytest
# the numpydoc parser scikit-learn's HTML repr uses
from sklearn.externals._numpydoc.docscrape import NumpyDocString

from cymlp import MLPClassifier, MLPRegressor


def documented(doc, section="Parameters"):
    return {item.name: item for item in NumpyDocString(inspect.cleandoc(doc))[section]}


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_every_parameter_is_documented_and_shown_in_the_html_repr(cls):
    entries = documented(cls.__doc__)
    params = cls().get_params()
    assert set(params) == set(entries), set(params) ^ set(entries)
    page = cls()._repr_html_()
    for name in params:
        entry = entries[name]
        assert entry.desc, name
        # the tooltip: "name: type" then the description's first line
        assert html.escape(f"{name}: {entry.type}") in page, name
        assert html.escape(entry.desc[0]) in page, name
        assert f"#:~:text={name}," in page, name


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_fit_documents_its_validation_arguments(cls):
    entries = documented(cls.fit.__doc__)
    signature = list(inspect.signature(cls.fit).parameters)[1:]
    assert list(entries) == signature
    assert "transform_input" in " ".join(entries["X_val"].desc)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_parameters_are_documented_in_the_signatures_order(cls):
    # numpydoc's PR03, which the docs build (warnings are errors) enforces
    signature = [name for name in inspect.signature(cls.__init__).parameters][1:]
    assert list(documented(cls.__doc__)) == signature
