"""Shared test configuration: hypothesis profiles, the opt-in ``slow`` marker,
and the ``fit_interrupted`` fixture (a fit that receives Ctrl-C).

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
import signal
import threading
import time
import warnings
from dataclasses import dataclass

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


@dataclass
class InterruptedFit:
    latency: float   # seconds from the SIGINT to fit's return
    messages: list   # the warnings fit emitted, as text


def _fit_interrupted(est, X, y, delay):
    """``est.fit(X, y)`` in the main thread, with SIGINT sent after ``delay`` s."""
    assert threading.current_thread() is threading.main_thread()
    sent = []

    def interrupt():
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(delay, interrupt)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        timer.start()
        try:
            est.fit(X, y)
        finally:
            returned = time.perf_counter()
            timer.cancel()
            timer.join()
    assert sent, "the fit ended before the signal: make it longer"
    return InterruptedFit(returned - sent[0], [str(w.message) for w in caught])


@pytest.fixture
def fit_interrupted():
    """fit_interrupted(est, X, y, delay) -> InterruptedFit(latency, messages)."""
    return _fit_interrupted
