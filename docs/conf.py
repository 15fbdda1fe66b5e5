"""Sphinx configuration of cymlp's documentation site.

Build: ``pip install ".[docs]" && sphinx-build -W --keep-going -b html docs
docs/_build/html``. The API reference is generated from the docstrings
(autosummary + numpydoc, whose validation fails the build on a missing or
malformed section of a public docstring) and the gallery runs every script
of ``cymlp.examples`` (sphinx-gallery) and shows its figures. The scripts
live in the package (``src/cymlp/examples/``), because ``python -m cymlp
demo`` runs four of them; the gallery takes them from the cymlp that is
imported here, as the API reference does.
"""

import os
import re
import warnings

import matplotlib

import cymlp
import cymlp.examples

matplotlib.use("Agg")

project = "cymlp"
copyright = "cymlp developers, BSD-3-Clause"
release = cymlp.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "_README_proposed.md"]
default_role = "code"

# -- API reference -----------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# numpydoc's validation: every check on the public API, minus these.
numpydoc_validation_checks = {
    "all",
    "GL01",  # summary may start right after the opening quotes
    "SA01",  # "See Also" is not required on every method
    "EX01",  # examples live in the classes' docstrings, user guide and gallery
    "ES01",  # no extended summary required for short methods
    "RT02",  # "Returns" may name the value (``self : object``)
}
# Not cymlp's docstrings: inherited from scikit-learn unchanged, validated there.
numpydoc_validation_exclude = {
    r"\.get_params$",
    r"\.set_params$",
    r"\.set_\w+_request$",
    r"\.get_metadata_routing$",
    r"\.set_callbacks$",
    # Python's own, inherited by InconsistentVersionWarning (an exception)
    r"\.add_note$",
    r"\.with_traceback$",
    r"\.__\w+__$",
    r"\._\w+$",
    # Python's own BaseException methods, inherited by InconsistentVersionWarning
    r"\.add_note$",
    r"\.with_traceback$",
}

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable/", None),
    "sklearn": ("https://scikit-learn.org/1.9/", None),
}
# Off unless CYMLP_DOCS_INTERSPHINX=1: CI reaches only package registries, and
# an inventory that cannot be fetched is a warning, which fails the build.
if os.environ.get("CYMLP_DOCS_INTERSPHINX") != "1":
    intersphinx_mapping = {}

# -- Gallery -----------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": os.path.dirname(cymlp.examples.__file__),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "doc_module": ("cymlp",),
    "backreferences_dir": "api/generated/backreferences",
    "abort_on_example_error": True,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "min_reported_time": 1,
    "capture_repr": (),  # no "<Figure ...>" line after the plot calls
    "plot_gallery": "True",
}

# -- HTML ----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"cymlp {release}"
html_static_path = []
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
}
html_sidebars = {"index": []}

warnings.filterwarnings(
    "ignore",
    message="Matplotlib is currently using agg",
    category=UserWarning,
)


# -- Docstrings inherited from scikit-learn ------------------------------------
# score, get_params, set_*_request ... keep scikit-learn's docstrings, whose
# :ref: and :term: roles point into scikit-learn's site. Without intersphinx
# those targets do not exist here: show their text instead of a broken link.
_SKLEARN_ROLE = re.compile(r":(?:ref|term):`(?:([^`<]*?)\s*<[^`>]*>|([^`]*))`")


def _unlink_sklearn_roles(app, what, name, obj, options, lines):
    module = getattr(obj, "__module__", "") or ""
    if intersphinx_mapping or not module.startswith("sklearn"):
        return
    for i, line in enumerate(lines):
        lines[i] = _SKLEARN_ROLE.sub(
            lambda m: f"*{(m.group(1) or m.group(2)).strip()}*", line
        )


def setup(app):
    app.connect("autodoc-process-docstring", _unlink_sklearn_roles)
