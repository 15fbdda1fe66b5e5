"""The estimators' HTML repr links ("?" in notebooks) to their API pages.

scikit-learn builds the link from ``_doc_link_module`` and
``_doc_link_template``; the page names are the ones autosummary generates in
docs/api/ (``api/generated/cymlp.<Name>.html``).
"""

from pathlib import Path

import pytest

from cymlp import MLPClassifier, MLPRegressor

SITE = "https://cymlp.readthedocs.io/en/latest/"


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_html_repr_links_to_the_api_page(cls):
    url = f"{SITE}api/generated/cymlp.{cls.__name__}.html"
    assert cls()._get_doc_link() == url
    assert f'href="{url}"' in cls()._repr_html_()


def test_api_page_is_generated_under_that_name():
    # autosummary writes one page per entry of docs/api/index.rst into
    # docs/api/generated/, named after the public (not the private) path.
    index = (Path(__file__).resolve().parents[1] / "docs" / "api" / "index.rst").read_text()
    assert ":toctree: generated" in index
    assert "\n   MLPClassifier\n" in index and "\n   MLPRegressor\n" in index
    assert ".. currentmodule:: cymlp" in index
