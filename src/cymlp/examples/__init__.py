"""The documentation's gallery: example scripts that use cymlp's public API.

Each ``plot_*.py`` is a script a user could write (cymlp's estimators,
scikit-learn, matplotlib), rendered with its output and figures by
sphinx-gallery (``docs/conf.py`` points at this directory). They ship with the
package because ``python -m cymlp demo`` runs four of them (see
:mod:`cymlp._demo`). Nothing imports them with ``import cymlp``.
"""
