"""Shared test configuration: hypothesis profiles and the opt-in ``slow`` marker.

Tests marked ``slow`` are skipped unless pytest is given a marker expression:
``python -m pytest tests`` skips them (reported as skipped, with the reason),
``python -m pytest tests -m slow`` runs only them, and any other ``-m``
expression is applied by pytest as usual.

Hypothesis profiles (``deadline=None``: a fit's duration varies with the
machine's load, and a slow example is not a failure):

* ``cymlp-ci``: the default run. Few examples, derandomized (the same
  examples on every run, so CI is reproducible), no example database.
* ``cymlp-slow``: the ``-m slow`` run. ``CYMLP_FUZZ_EXAMPLES`` examples
  (default 2500) per fuzz test, random, failures printed with a
  ``@reproduce_failure`` blob.
"""

import os

import pytest
from hypothesis import HealthCheck, settings

_SUPPRESSED = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

settings.register_profile(
    "cymlp-ci",
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=_SUPPRESSED,
)
settings.register_profile(
    "cymlp-slow",
    max_examples=int(os.environ.get("CYMLP_FUZZ_EXAMPLES", "2500")),
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=_SUPPRESSED,
)
settings.load_profile("cymlp-ci")


def pytest_collection_modifyitems(config, items):
    """Skip tests marked ``slow`` unless a marker expression (``-m``) was given."""
    if config.getoption("markexpr"):
        return
    skip = pytest.mark.skip(reason="slow: opt in with -m slow")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)
