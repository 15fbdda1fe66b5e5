"""pytest plugin for CI's release step: the suite runs against the installed cymlp only.

Loaded as the top-level conftest.py of a copy of tests/ outside the checkout.
At the start it fails the run unless ``cymlp`` comes from this interpreter's
site-packages; at the end it fails the run if any test imported a module
from the checkout (``CYMLP_CHECKOUT``).
"""

import os
import sys
import sysconfig

import pytest

CHECKOUT = os.path.realpath(os.environ["CYMLP_CHECKOUT"]) + os.sep


def _from_checkout():
    """Names of the imported modules whose file lies inside the checkout."""
    return sorted(
        name
        for name, module in list(sys.modules.items())
        if getattr(module, "__file__", None)
        and os.path.realpath(module.__file__).startswith(CHECKOUT)
    )


def pytest_sessionstart(session):
    import cymlp

    site = os.path.realpath(sysconfig.get_paths()["platlib"]) + os.sep
    where = os.path.realpath(cymlp.__file__)
    if not where.startswith(site):
        raise pytest.UsageError(f"cymlp imported from {where}, not from {site}")
    print(f"cymlp {cymlp.__version__} from {where}")


def pytest_sessionfinish(session, exitstatus):
    leaked = _from_checkout()
    if leaked:
        print(f"\nmodules imported from the checkout {CHECKOUT}: {leaked}", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
