"""Pick the network kernels' SIMD level, once, when cymlp is imported.

``_network.pyx`` (the passes and the epoch loop, with every elementwise
kernel inlined from the .pxd files) is built once per SIMD level, each as
its own extension module: ``_network`` (baseline: any x86-64 or aarch64
CPU), ``_network_avx2`` (AVX2, FMA, BMI1/2) and ``_network_avx512`` (also
AVX-512 F/BW/CD/DQ/VL) on x86-64, and ``_network_native`` (-march=native)
when built with ``-Dnative-simd=true``. They compute the same bits (no FMA
contraction, no fast-math); only their speed differs. The CPU check
(``_cpu``) is baseline code and runs before any wider module is imported,
and only the chosen module is imported.

``CYMLP_SIMD=baseline|avx2|avx512|native`` forces a level; a level this
build or this CPU lacks is refused with an error naming what is missing.
The rest of cymlp reads the chosen module as ``_dispatch.network`` at each
call; ``using_level`` switches it for a block (benchmarks and tests).
"""

import contextlib
import importlib
import os

from . import _build_config
from ._cpu import FEATURES, cpu_levels

# Narrowest first; 'native' (this build machine's CPU) is preferred when built.
ORDER = ("baseline", "avx2", "avx512", "native")
MODULES = {level: "_network" if level == "baseline" else "_network_" + level
           for level in ORDER}
ENTRY_MODULES = {level: MODULES[level].replace("_network", "_kernel_entries")
                 for level in ORDER}


def built_levels():
    """The levels this build compiled, narrowest first."""
    return tuple(level for level in ORDER if level in _build_config.SIMD_LEVELS)


def available_levels():
    """The levels both built and runnable on this CPU, narrowest first.

    'native' is trusted to run: it exists only in a build made for this machine.
    """
    runnable = cpu_levels() + ("native",)
    return tuple(level for level in built_levels() if level in runnable)


def choose_level(requested=None):
    """The level to use: ``requested`` (default: $CYMLP_SIMD) or the widest available."""
    if requested is None:
        requested = os.environ.get("CYMLP_SIMD", "")
    requested = requested.strip().lower()
    available = available_levels()
    if not requested:
        return available[-1]
    if requested not in ORDER:
        raise ValueError(f"CYMLP_SIMD={requested!r} is not a SIMD level; "
                         f"use one of {', '.join(ORDER)}")
    if requested not in built_levels():
        raise RuntimeError(f"CYMLP_SIMD={requested}: this build of cymlp has no "
                           f"'{requested}' kernels (built: {', '.join(built_levels())})")
    if requested not in available:
        raise RuntimeError(f"CYMLP_SIMD={requested}: this CPU lacks some of "
                           f"{', '.join(FEATURES[requested])} "
                           f"(it runs: {', '.join(available)})")
    return requested


def load(level):
    """The network module built for ``level`` (imported on first use)."""
    return importlib.import_module(f".{MODULES[level]}", __package__)


def load_entries(level):
    """The kernels' test entry points built for ``level`` (``_kernel_entries.pyx``,
    compiled with that level's flags; for tests, never imported by cymlp)."""
    return importlib.import_module(f".{ENTRY_MODULES[level]}", __package__)


@contextlib.contextmanager
def using_level(level):
    """Run cymlp on the kernels of ``level`` inside the ``with`` block.

    For benchmarks and tests that compare levels in one process: it switches
    the module for every thread of the process, so nothing else may fit or
    predict meanwhile.
    """
    global network
    previous = network
    network = load(choose_level(level))
    try:
        yield network
    finally:
        network = previous


LEVEL = choose_level()
network = load(LEVEL)
