"""``cymlp.show_config()``: what a bug report needs to know about this install.

Versions (cymlp, Python, numpy, scipy, scikit-learn), the BLAS in use (via
threadpoolctl), the SIMD level chosen for the kernels and the levels this CPU
runs, whether ``n_jobs`` runs on OpenMP threads, and the options the build
was made with.
"""

import sys


def _version(dist):
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def config():
    """show_config's sections as {section: {key: value}}."""
    import platform

    from threadpoolctl import threadpool_info

    from . import __version__, _build_config, _dispatch
    from ._cpu import cpu_levels

    versions = {"cymlp": __version__,
                "python": sys.version.replace("\n", " "),
                "platform": platform.platform()}
    versions.update({name: _version(name) for name in ("numpy", "scipy", "scikit-learn",
                                                        "threadpoolctl")})
    blas = {}
    for info in threadpool_info():    # scipy's is the one cymlp's kernels call
        if info.get("user_api") != "blas":
            continue
        blas[info.get("prefix", "blas")] = (f"{info.get('internal_api')} {info.get('version')}, "
                             f"{info.get('num_threads')} threads, "
                             f"{info.get('threading_layer', '')} "
                             f"{info.get('architecture', '')}, "
                             f"{info.get('filepath')}").replace(" ,", ",")
    from ._openmp import openmp_enabled, openmp_max_threads
    from ._threads import effective_n_threads

    if openmp_enabled():
        runtimes = [info.get("filepath") for info in threadpool_info()
                    if info.get("user_api") == "openmp"]
        threads = {"openmp": "yes: n_jobs runs on OpenMP threads",
                   "n_jobs=-1": f"{effective_n_threads(-1)} threads",
                   "loaded": ", ".join(runtimes) or "no OpenMP library"}
    else:
        threads = {"openmp": "no: n_jobs runs on one thread (the same results)",
                   "n_jobs=-1": f"{openmp_max_threads()} thread"}
    simd = {"chosen": _dispatch.LEVEL,
            "cpu runs": ", ".join(cpu_levels()),
            "built": ", ".join(_dispatch.built_levels())}
    build = {"compiler": _build_config.COMPILER,
             "cpu family": _build_config.CPU_FAMILY,
             "buildtype": _build_config.BUILDTYPE,
             "cython-debug": _build_config.CYTHON_DEBUG,
             "native-simd": _build_config.NATIVE_SIMD,
             "sanitizers": _build_config.SANITIZE,
             "openmp": _build_config.OPENMP}
    return {"versions": versions, "blas": blas or {"blas": "none found"},
            "simd": simd, "threads": threads, "build": build}


def show_config(file=None):
    """Print cymlp's versions, BLAS, SIMD level, threads and build options (for bug reports).

    Parameters
    ----------
    file : writable text stream, default=None
        Where to print; ``sys.stdout`` when None.
    """
    out = sys.stdout if file is None else file
    for section, entries in config().items():
        print(f"{section}:", file=out)
        width = max(len(k) for k in entries)
        for key, value in entries.items():
            print(f"  {key:<{width}}  {value}", file=out)
