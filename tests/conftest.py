"""Shared test configuration: hypothesis profiles, the opt-in ``slow`` marker,
the ``quiet`` fixture (short fits without their ConvergenceWarning) and the
``fit_interrupted`` fixture (a fit that receives Ctrl-C once it has made the
progress a test asks for). The shared datasets are in ``datasets.py``,
checks of fitted models in ``model_checks.py``, the kernel calls in
``kernel_calls.py``.

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
from sklearn.exceptions import ConvergenceWarning

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


@pytest.fixture
def quiet():
    """Silence ConvergenceWarning: the tests' fits are short on purpose.

    Use it for a whole file with ``pytestmark = pytest.mark.usefixtures("quiet")``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@dataclass
class InterruptedFit:
    latency: float   # seconds from the SIGINT to fit's return
    messages: list   # the warnings fit emitted, as text
    at_signal: object = None  # what ``at_signal()`` returned just after the SIGINT


def _fit_interrupted(est, X, y, delay=0.0, when=None, at_signal=None):
    """``est.fit(X, y)`` in the main thread, with SIGINT sent from another thread.

    The signal goes ``delay`` s after the fit starts, and then only once
    ``when()`` is true (polled every millisecond): a condition on the fit's
    progress, such as "3 batches done", makes the test independent of the
    machine's speed and load. ``at_signal()``, called right after the
    signal was sent (the signal is pending by then: os.kill to this process
    runs the C-level handler before it returns), records the progress that
    was made by then, so the progress after it is counted without a race.

    Python's own SIGINT handler (KeyboardInterrupt) is installed for the fit:
    a process started with SIGINT ignored, as a shell starts a background
    job, would never see the signal.
    """
    assert threading.current_thread() is threading.main_thread()
    sent, recorded = [], []
    finished = threading.Event()

    def interrupt():
        if finished.wait(delay):
            return
        while when is not None and not when():
            if finished.wait(0.001):
                return
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)
        recorded.append(at_signal() if at_signal is not None else None)

    sender = threading.Thread(target=interrupt)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sender.start()
        try:
            est.fit(X, y)
        finally:
            returned = time.perf_counter()
            finished.set()
            sender.join()
            signal.signal(signal.SIGINT, previous)
    assert sent, "the fit ended before the signal: make it longer"
    return InterruptedFit(returned - sent[0], [str(w.message) for w in caught],
                          recorded[0])


@pytest.fixture
def fit_interrupted():
    """fit_interrupted(est, X, y, delay=0, when=None, at_signal=None) -> InterruptedFit."""
    return _fit_interrupted
