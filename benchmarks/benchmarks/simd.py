"""The SIMD levels of the network kernels against each other, in one run.

cymlp builds its network once per SIMD level (``baseline``, ``avx2``,
``avx512`` on x86-64; ``native`` too with ``-Dnative-simd=true``) and picks
one at import (src/cymlp/_dispatch.py). asv runs one build per environment,
so comparing "the dispatching default build" with "a native build" across
two builds would compare two environments' noise as well; instead this
benchmark loads every level's module of ONE build and fits the same model
with each, in the same run. The default build's levels are compiled with the
same flags whatever ``native-simd`` says, so with an install built with
``-Dnative-simd=true`` (``asv run --python=same``), ``native`` vs the widest
other level is the dispatching default build vs the native build; in a
default build the ``native`` rows are skipped (n/a).

The workloads: deep 8x32 tanh, ELU and GELU 20-100-5
(tabular), circles with logistic units and tabular relu; one BLAS thread.
Read the ratios of each row to the widest level of the same fit.
"""

import contextlib

from threadpoolctl import threadpool_limits

from .common import WORKLOADS, ConvergenceWarning  # noqa: F401  (filters the warning)

LEVELS = ["baseline", "avx2", "avx512", "native"]
FITS = {
    "deep_tanh": ("deep_narrow", {}),
    "elu": ("tabular", {"activation": "elu"}),
    "gelu": ("tabular", {"activation": "gelu"}),
    "circles_logistic": ("circles", {"activation": "logistic"}),
    "tabular_relu": ("tabular", {}),
}


@contextlib.contextmanager
def _bound_in_base(module):
    """The level switch of cymlp 0.1.0 (for asv runs over older commits)."""
    from cymlp import _base
    default, _base._network = _base._network, module
    try:
        yield
    finally:
        _base._network = default


class SimdLevels:
    params = [list(FITS), LEVELS]
    param_names = ["fit", "level"]
    timeout = 300

    def setup(self, fit, level):
        try:
            from cymlp import _dispatch
        except ImportError as exc:
            raise NotImplementedError(str(exc))
        if level not in _dispatch.available_levels():
            raise NotImplementedError(f"no '{level}' kernels in this build or CPU")
        workload, extra = FITS[fit]
        wl = WORKLOADS[workload]
        self.X, self.y = wl.data()
        self.estimator = wl.make_estimator("cymlp").set_params(**extra)
        if hasattr(_dispatch, "using_level"):
            self.level = _dispatch.using_level(level)
        else:  # before using_level: the estimators called the module bound in _base
            self.level = _bound_in_base(_dispatch.load(level))
        self.level.__enter__()
        self.limits = threadpool_limits(1)

    def teardown(self, fit, level):
        if not hasattr(self, "limits"):  # setup skipped this level
            return
        self.limits.restore_original_limits()
        self.level.__exit__(None, None, None)

    def time_fit(self, fit, level):
        self.estimator.fit(self.X, self.y)
