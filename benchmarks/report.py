"""Print the latest asv results of this machine as Markdown tables.

speedup = sklearn time / cymlp time (> 1: cymlp is faster), measured in the
same asv run on the same data.

Usage (from benchmarks/, after a run that saved results, e.g.
``asv run --python=same --quick --set-commit-hash HEAD``)::

    python report.py                      # latest results file of this machine
    python report.py --machine NAME       # another machine's
    python report.py --commit 1b87c208    # latest results of that commit
    python report.py path/to/results.json # that file

The latest file is the one whose benchmarks started last (not the newest
commit), so after ``asv continuous A B`` it shows whichever ran second;
pass ``--commit`` to choose.
"""

import argparse
import ast
import glob
import itertools
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_RESULTS = os.path.join(HERE, ".asv", "results")


# --------------------------------------------------------------------------
# Reading asv results
# --------------------------------------------------------------------------


def default_machine(results_dir):
    machines = sorted(
        d for d in os.listdir(results_dir)
        if os.path.isdir(os.path.join(results_dir, d))
    )
    try:
        with open(os.path.expanduser("~/.asv-machine.json")) as f:
            configured = [k for k in json.load(f) if k != "version"]
    except (OSError, ValueError):
        configured = []
    for name in configured:
        if name in machines:
            return name
    if len(machines) == 1:
        return machines[0]
    sys.exit(f"several machines in {results_dir}: {machines}; use --machine")


def _started_at(data):
    columns = data.get("result_columns", [])
    if "started_at" not in columns:
        return 0
    i = columns.index("started_at")
    return max(
        (row[i] for row in data["results"].values()
         if len(row) > i and row[i] is not None),
        default=0,
    )


def latest_results_file(results_dir, machine, commit=None):
    files = [
        p for p in glob.glob(os.path.join(results_dir, machine, "*.json"))
        if os.path.basename(p) != "machine.json"
    ]
    candidates = []
    for path in files:
        with open(path) as f:
            data = json.load(f)
        if commit and not data.get("commit_hash", "").startswith(commit):
            continue
        candidates.append((_started_at(data), os.path.getmtime(path), path))
    if not candidates:
        sys.exit(f"no results in {os.path.join(results_dir, machine)}"
                 + (f" for commit {commit}" if commit else ""))
    return max(candidates)[2]


def load_results(path):
    """{benchmark name: {param tuple: value}} with python-valued params."""
    with open(path) as f:
        data = json.load(f)
    columns = data["result_columns"]
    i_result, i_params = columns.index("result"), columns.index("params")
    table = {}
    for name, row in data["results"].items():
        values, params = row[i_result], row[i_params]
        if values is None:
            continue
        if not params:
            table[name] = {(): values if not isinstance(values, list)
                           else values[0]}
            continue
        parsed = [[ast.literal_eval(p) for p in axis] for axis in params]
        table[name] = dict(zip(itertools.product(*parsed), values))
    return data, table


# --------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------


def fmt_time(seconds):
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "n/a"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def ok(value):
    return value is not None and not (
        isinstance(value, float) and math.isnan(value))


def ratio(numerator, denominator, suffix="x", digits=2):
    if not (ok(numerator) and ok(denominator)) or denominator == 0:
        return "n/a"
    return f"{numerator / denominator:.{digits}f}{suffix}"


def fmt_num(value, digits=4):
    if not ok(value):
        return "n/a"
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:.{digits}g}"


def markdown(header, rows):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Workload labels (from the suite itself when importable)
# --------------------------------------------------------------------------


def workload_labels():
    """{benchmark class path: workload description}; the key "__order__"
    holds each class's rank in WORKLOADS, "__workloads__" the descriptions
    by workload name, "__classes__" the classes of each workload."""
    labels, order, classes = {}, {}, {}
    labels["__order__"] = order
    labels["__classes__"] = classes
    try:
        sys.path.insert(0, HERE)
        import importlib
        import pkgutil

        import benchmarks
        from benchmarks.common import WORKLOADS

        for mod in pkgutil.iter_modules(benchmarks.__path__):
            module = importlib.import_module(f"benchmarks.{mod.name}")
            for name, obj in vars(module).items():
                wl = getattr(obj, "workload", None)
                if isinstance(obj, type) and wl in WORKLOADS:
                    labels[f"{mod.name}.{name}"] = WORKLOADS[wl].description
                    order[f"{mod.name}.{name}"] = list(WORKLOADS).index(wl)
                    classes.setdefault(wl, []).append(f"{mod.name}.{name}")
        labels["__workloads__"] = {k: w.description
                                   for k, w in WORKLOADS.items()}
    except Exception:  # labels are a nicety; fall back to class names
        pass
    finally:
        if sys.path and sys.path[0] == HERE:
            sys.path.pop(0)
    return labels


# --------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------


def extras_table(table):
    """Cost of each cymlp extra (fit time / default fit time) and of the
    gradient norms (epoch time with / without)."""
    fit = table.get("extras.Extras.time_fit", {})
    base = fit.get(("default",))
    lines = []
    if ok(base):
        # the regression losses (loss=...) against the regressor's default
        lines += ["| cymlp extra | fit time | relative to default (loss=squared_error "
                  "for the losses) |", "|---|---|---|"]
        for key, value in fit.items():
            ref = fit.get(("loss=squared_error",)) if key[0].startswith("loss=") else base
            lines.append(f"| {key[0]} | {fmt_time(value)} | {value / ref:.2f}x |"
                         if ok(value) and ok(ref) else f"| {key[0]} | n/a | |")
    norms = table.get("extras.GradientNorms.time_epoch", {})
    on, off = norms.get(("on",)), norms.get(("off",))
    if ok(on) and ok(off):
        lines.append(f"\nGradient norms (gradient_norms_): an epoch takes {fmt_time(on)} "
                     f"with them and {fmt_time(off)} without: "
                     f"{100 * (on / off - 1):+.1f}% of the epoch.")
    return "\n".join(lines)


def onnx_table(table):
    """cymlp's predict_proba against onnxruntime on the same model, 1 thread:
    one row (steady state) and 4000 rows, per network and precision."""
    batch = table.get("onnx_inference.OnnxInference.time_predict_proba_batch", {})
    row = table.get("onnx_inference.OnnxInference.track_predict_proba_single_row_us", {})
    if not batch and not row:
        return ""
    lines = ["| network | dtype | one row, cymlp / onnxruntime | ratio "
             "| 4000 rows, cymlp / onnxruntime | ratio |", "|---|---|---|---|---|---|"]
    names = {"deep_narrow": "8x32 tanh", "tabular": "20-100-5 relu"}
    for network in ("deep_narrow", "tabular"):
        for dtype in ("float32", "float64"):
            r_c, r_o = row.get(("cymlp", network, dtype)), row.get(("onnxruntime", network, dtype))
            b_c, b_o = batch.get(("cymlp", network, dtype)), batch.get(("onnxruntime", network, dtype))
            one = (f"{r_c:.3g} / {r_o:.3g} µs" if ok(r_c) and ok(r_o) else "n/a")
            lines.append(f"| {names[network]} | {dtype} | {one} | {ratio(r_c, r_o)} "
                         f"| {fmt_time(b_c)} / {fmt_time(b_o)} | {ratio(b_c, b_o)} |")
    return ("cymlp time / onnxruntime time (< 1: cymlp faster).\n\n" + "\n".join(lines))


def torch_table(table, labels):
    """The PyTorch peer (pytorch_peer.py) beside scikit-learn and cymlp, 1 thread."""
    fits = table.get("pytorch_peer.PyTorch.time_fit", {})
    if not fits:
        return ""
    scores = table.get("pytorch_peer.PyTorch.track_train_score", {})
    diffs = table.get("pytorch_peer.PyTorch.track_weights_rel_diff", {})
    descriptions = labels.get("__workloads__", {})
    rows = []
    for (workload,), fit_torch in fits.items():
        fit_sk = fit_cy = score_sk = score_cy = None
        for cls in labels.get("__classes__", {}).get(workload, []):
            fit = table.get(f"{cls}.time_fit", {})
            if ("sklearn", 1) in fit:
                fit_sk, fit_cy = fit.get(("sklearn", 1)), fit.get(("cymlp", 1))
                score = table.get(f"{cls}.track_train_score", {})
                score_sk, score_cy = score.get(("sklearn", 1)), score.get(("cymlp", 1))
                break
        rows.append([
            descriptions.get(workload, workload), fmt_time(fit_sk), fmt_time(fit_cy),
            fmt_time(fit_torch), ratio(fit_torch, fit_sk), ratio(fit_torch, fit_cy),
            f"{fmt_num(score_sk)} / {fmt_num(score_cy)} / "
            f"{fmt_num(scores.get((workload,)))}",
            fmt_num(diffs.get((workload,)), 2),
        ])
    header = ["workload", "fit sklearn", "fit cymlp", "fit torch", "torch / sklearn",
              "torch / cymlp", "train score sklearn / cymlp / torch",
              "torch weights - sklearn's (relative)"]
    return ("PyTorch peer, 1 thread: the same network, initial weights, shuffles, loss "
            "and Adam steps in PyTorch (time ratios > 1: PyTorch slower).\n\n"
            + markdown(header, rows))


def simd_table(table):
    """Each fit at every SIMD level of one build, relative to the widest level
    this machine ran other than native (native: a -Dnative-simd=true build)."""
    fits = table.get("simd.SimdLevels.time_fit", {})
    if not fits:
        return ""
    levels = ["baseline", "avx2", "avx512", "native"]
    lines = ["| fit | " + " | ".join(levels) + " |", "|---|" + "---|" * len(levels)]
    for fit in dict.fromkeys(key[0] for key in fits):
        times = {lv: fits.get((fit, lv)) for lv in levels}
        widest = next((times[lv] for lv in ("avx512", "avx2", "baseline") if ok(times[lv])), None)
        cells = [f"{fmt_time(times[lv])} ({ratio(times[lv], widest)})" if ok(times[lv])
                 else "n/a" for lv in levels]
        lines.append(f"| {fit} | " + " | ".join(cells) + " |")
    return ("Fit time at each SIMD level of one build (relative to the widest "
            "non-native level).\n\n" + "\n".join(lines))


def threads_table(table, labels):
    """One fit on every core (cymlp's n_jobs): fit times, their ratios (from
    the asv times, and interleaved in one process), peak memory and how far
    the loss curve is from n_jobs=None's."""
    fit = table.get("threads.NJobsFit.time_fit", {})
    if not fit:
        return ""
    mem = table.get("threads.NJobsFit.peakmem_fit", {})
    track = table.get("threads.NJobsScaling.track_speedup", {})
    gap = table.get("threads.NJobsLossGap.track_max_relative_gap", {})
    within = table.get("threads.NJobsLossGap.track_epochs_within_1e9", {})
    sk_within = table.get("threads.NJobsLossGap.track_sklearn_epochs_within_1e9", {})
    descriptions = labels.get("__workloads__", {})
    rows = []
    for wl in dict.fromkeys(key[0] for key in fit):
        none, one, two = (fit.get((wl, mode)) for mode in ("None", "1", "2"))
        blas2 = fit.get((wl, "None-2blas"))
        m_none, m_two = mem.get((wl, "None")), mem.get((wl, "2"))
        rows.append([
            descriptions.get(wl, wl), fmt_time(none),
            fmt_time(blas2) if ok(blas2) else "", fmt_time(one), fmt_time(two),
            f"{ratio(none, one)} ({fmt_num(track.get((wl, '1 vs None')), 3)})",
            f"{ratio(one, two)} ({fmt_num(track.get((wl, '2 vs 1')), 3)})",
            (f"{ratio(blas2, two)} ({fmt_num(track.get((wl, '2 vs None-2blas')), 3)})"
             if ok(blas2) else ""),
            (f"{m_none / 2**20:.0f} / {m_two / 2**20:.0f}"
             if ok(m_none) and ok(m_two) else "n/a"),
            (f"{gap[(wl,)]:.2g} ({fmt_num(within.get((wl,)))}; scikit-learn: "
             f"{fmt_num(sk_within.get((wl,)))})" if ok(gap.get((wl,))) else ""),
        ])
    header = ["workload", "n_jobs=None", "None, 2 BLAS threads", "n_jobs=1", "n_jobs=2",
              "1 vs None (interleaved)", "2 vs 1 (interleaved)",
              "2 vs None at 2 BLAS threads (interleaved)", "peak MiB None / 2",
              "200-epoch loss gap to None (epochs within 1e-9; scikit-learn's)"]
    return markdown(header, rows)


def threads_targets_table(table):
    """Issue #21's targets (n_jobs), from the interleaved ratios of this run."""
    track = table.get("threads.NJobsScaling.track_speedup", {})
    if not track:
        return ""
    mem = table.get("threads.NJobsFit.peakmem_fit", {})

    def get(wl, pair):
        return fmt_num(track.get((wl, pair)), 3) + "x"

    growth = [(mem[(wl, "2")] - mem[(wl, "None")]) / 2**20
              for wl in NJOBS_WORKLOADS if ok(mem.get((wl, "2"))) and ok(mem.get((wl, "None")))]
    rows = [
        ["n_jobs=2 vs 1: >= 1.6x (tabular, digits, regressor, lbfgs)",
         ", ".join(f"{wl} {get(wl, '2 vs 1')}"
                   for wl in ("tabular", "digits", "regressor", "lbfgs"))],
        ["n_jobs=2 vs 1: >= 1.4x (deep 8x32)", get("deep_narrow", "2 vs 1")],
        ["(L-BFGS on 10k rows: the kernels' share of the fit is larger)",
         get("lbfgs_10k", "2 vs 1")],
        ["n_jobs=1 within 3 % of n_jobs=None (>= 0.97x)",
         ", ".join(f"{wl} {get(wl, '1 vs None')}" for wl in NJOBS_WORKLOADS)],
        ["wide: n_jobs=2 no slower than None at 2 BLAS threads (>= 1x)",
         get("wide_f64", "2 vs None-2blas")],
        ["peak memory of n_jobs=2 over None",
         (f"{min(growth):+.1f} to {max(growth):+.1f} MiB" if growth else "n/a")],
    ]
    return markdown(["n_jobs target", "measured in this run"], rows)


NJOBS_WORKLOADS = ("tabular", "regressor", "digits", "deep_narrow", "lbfgs", "lbfgs_10k",
                   "wide_f64")


def scaling_model_table(table, labels):
    """The scaling model (a model, not a measurement): speedup(T) <= 1 / (s +
    (1 - s) / min(T, K)), s the share of an n_jobs=1 fit outside the kernel
    calls and K its blocks per batch, both measured in this run."""
    share = table.get("threads.NJobsSerialShare.track_outside_kernels", {})
    blocks = table.get("threads.NJobsSerialShare.track_blocks", {})
    descriptions = labels.get("__workloads__", {})
    rows = []
    for (wl,), s in share.items():
        k = blocks.get((wl,))
        if not (ok(s) and ok(k)):
            continue
        rows.append([descriptions.get(wl, wl), f"{s:.3f}", f"{k:.0f}"]
                    + [f"{1 / (s + (1 - s) / min(t, k)):.2f}x" for t in (2, 4, 8, 16)])
    if not rows:
        return ""
    return markdown(["workload", "s", "K", "T=2", "T=4", "T=8", "T=16"], rows)


def estimator_table(table, labels):
    order = labels.get("__order__", {})
    # classes parameterized by (implementation, threads); others have tables of their own
    classes = sorted({name.rsplit(".", 1)[0] for name, values in table.items()
                      if name.endswith(".time_fit")
                      and all(len(k) >= 2 and k[0] in ("cymlp", "sklearn") for k in values)},
                     key=lambda c: (order.get(c, len(order)), c))
    rows, speedups = [], []
    for cls in classes:
        fit = table.get(f"{cls}.time_fit", {})
        predict = table.get(f"{cls}.time_predict", {})
        mem = table.get(f"{cls}.peakmem_fit", {})
        score = table.get(f"{cls}.track_train_score", {})
        n_iter = table.get(f"{cls}.track_n_iter", {})
        threads = sorted({key[1] for key in fit})
        for t in threads:
            def get(d, impl):
                return d.get((impl, t))

            fit_sk, fit_cy = get(fit, "sklearn"), get(fit, "cymlp")
            if ok(fit_sk) and ok(fit_cy) and fit_cy > 0:
                speedups.append(fit_sk / fit_cy)
            mem_sk, mem_cy = get(mem, "sklearn"), get(mem, "cymlp")
            it_sk, it_cy = get(n_iter, "sklearn"), get(n_iter, "cymlp")
            if ok(it_sk) and ok(it_cy) and it_sk != it_cy:
                iters = f"{fmt_num(it_sk)} / {fmt_num(it_cy)} (differ!)"
            else:
                iters = f"{fmt_num(it_sk)} / {fmt_num(it_cy)}"
            rows.append([
                labels.get(cls, cls.split(".")[-1]), t,
                fmt_time(fit_sk), fmt_time(fit_cy), ratio(fit_sk, fit_cy),
                ratio(get(predict, "sklearn"), get(predict, "cymlp")),
                (f"{mem_sk / 2**20:.0f} / {mem_cy / 2**20:.0f}"
                 if ok(mem_sk) and ok(mem_cy) else "n/a"),
                f"{fmt_num(get(score, 'sklearn'))} / "
                f"{fmt_num(get(score, 'cymlp'))}",
                iters,
            ])
    header = ["workload", "threads", "fit sklearn", "fit cymlp",
              "fit speedup", "predict speedup",
              "peak MiB sklearn / cymlp", "train score sklearn / cymlp",
              "n_iter_ sklearn / cymlp"]
    return markdown(header, rows), speedups


def latency_table(table, labels):
    rows = []
    for name in sorted(table):
        cls, method = name.rsplit(".", 1)
        steady = method.startswith("track_") and method.endswith("_us")
        if not (method.startswith("time_") or steady) or f"{cls}.time_fit" in table:
            continue
        values = table[name]
        if not all(len(k) >= 2 and k[0] in ("cymlp", "sklearn") for k in values):
            continue  # not an implementation comparison (extras, threads)
        for t in sorted({key[1] for key in values}):
            sk, cy = values.get(("sklearn", t)), values.get(("cymlp", t))
            if steady:  # µs per call, best of blocks of calls
                label = method[len("track_"):-len("_us")] + " (steady state)"
                sk, cy = (None if v is None else v * 1e-6 for v in (sk, cy))
            else:
                label = method[len("time_"):]
            rows.append([labels.get(cls, cls.split(".")[-1]),
                         label, t, fmt_time(sk), fmt_time(cy), ratio(sk, cy)])
    header = ["workload", "benchmark", "threads", "sklearn", "cymlp",
              "speedup"]
    return markdown(header, rows) if rows else ""


def gflops_table(table, labels):
    values = table.get("gflops.GFlops.track_gflops")
    if not values:
        return ""
    descriptions = labels.get("__workloads__", {})
    workloads = list(dict.fromkeys(key[0] for key in values))
    rows = []
    for wl in workloads:
        for t in sorted({key[2] for key in values if key[0] == wl}):
            np_, sk, cy = (values.get((wl, impl, t))
                           for impl in ("numpy", "sklearn", "cymlp"))
            rows.append([descriptions.get(wl, wl), t,
                         fmt_num(np_, 3), fmt_num(sk, 3), fmt_num(cy, 3),
                         ratio(100 * sk, np_, " %", 0) if ok(sk) else "n/a",
                         ratio(100 * cy, np_, " %", 0) if ok(cy) else "n/a",
                         ratio(np_, sk) if ok(sk) else "n/a",
                         ratio(cy, sk) if ok(sk) and ok(cy) else "n/a"])
    header = ["workload", "threads", "numpy GEMMs GFLOP/s",
              "sklearn GFLOP/s", "cymlp GFLOP/s", "sklearn / numpy",
              "cymlp / numpy", "speedup ceiling", "cymlp speedup"]
    return markdown(header, rows)


def predict_floor_lines(table):
    """The 8 x 32 tanh batch predict against its GEMM (and tanh) floor."""
    floors = table.get("gflops.PredictFloor.time_predict_batch", {})
    batch = table.get("deep.DeepNarrowPredict.time_predict_batch", {})
    sk, cy = batch.get(("sklearn", 1)), batch.get(("cymlp", 1))
    gemm, gemm_tanh = floors.get(("gemm",)), floors.get(("gemm_tanh",))
    if not (ok(sk) and ok(cy) and ok(gemm) and ok(gemm_tanh)):
        return ""
    return (f"Batch predict, 8 x 32 tanh, 4000 rows: scikit-learn {fmt_time(sk)}, "
            f"cymlp {fmt_time(cy)} ({ratio(sk, cy)}); the forward GEMMs alone "
            f"take {fmt_time(gemm)} (ceiling {ratio(sk, gemm)} with a free "
            f"tanh), the GEMMs plus numpy's tanh {fmt_time(gemm_tanh)} "
            f"(ceiling {ratio(sk, gemm_tanh)}).")


def targets_table(table):
    """Issue #5's targets, each with the numbers of this run that decide it."""
    def fit(cls, impl, threads=1):
        return table.get(f"{cls}.time_fit", {}).get((impl, threads))

    def speedup(cls, threads=1):
        return ratio(fit(cls, "sklearn", threads), fit(cls, "cymlp", threads))

    gf = table.get("gflops.GFlops.track_gflops", {})

    def gemm_share(wl):
        return ratio(100 * (gf.get((wl, "cymlp", 1)) or float("nan")),
                     gf.get((wl, "numpy", 1)), " %", 0)

    def ceiling(wl):
        return ratio(gf.get((wl, "numpy", 1)), gf.get((wl, "sklearn", 1)))

    single = table.get("deep.DeepNarrowPredict.track_predict_proba_single_row_us", {})
    cold = table.get("deep.DeepNarrowPredict.time_predict_proba_single_row", {})
    batch = table.get("deep.DeepNarrowPredict.time_predict_batch", {})
    floors = table.get("gflops.PredictFloor.time_predict_batch", {})
    diffs = []
    for name, values in table.items():
        if name.endswith(".peakmem_fit"):
            for key, cy in values.items():
                sk = values.get(("sklearn",) + key[1:])
                if key[0] == "cymlp" and ok(cy) and ok(sk):
                    diffs.append((cy - sk) / 2**20)
    lbfgs_1, lbfgs_2 = fit("solvers.Lbfgs", "cymlp", 1), fit("solvers.Lbfgs", "cymlp", 2)
    rows = [
        ["overhead-bound (XOR, circles): fit >= 20x",
         f"XOR {speedup('tiny.XOR')}, circles {speedup('tiny.Circles')}"],
        ["middle (tabular, deep 8x32, regressor, digits): fit >= 3x",
         f"tabular {speedup('tabular.Tabular')}, deep {speedup('deep.DeepNarrow')}, "
         f"regressor {speedup('tabular.Regressor')}, digits {speedup('tabular.Digits')} "
         f"(digits' ceiling {ceiling('digits')})"],
        ["middle: >= 70 % of numpy's GEMM rate",
         f"tabular {gemm_share('tabular')}, deep {gemm_share('deep_narrow')}, "
         f"regressor {gemm_share('regressor')}, digits {gemm_share('digits')}"],
        ["wide float64: no slower", speedup("wide.Wide")],
        ["wide float32: >= 1.7x",
         f"{speedup('wide.WideFloat32')} (ceiling {ceiling('wide_f32')})"],
        ["lbfgs: >= 2x at 1 thread, 2 threads no slower",
         f"{speedup('solvers.Lbfgs')}; {fmt_time(lbfgs_2)} at 2 threads, "
         f"{fmt_time(lbfgs_1)} at 1"],
        ["single-row `predict_proba`: >= 10x",
         f"{ratio(single.get(('sklearn', 1)), single.get(('cymlp', 1)))} steady "
         f"state ({ratio(cold.get(('sklearn', 1)), cold.get(('cymlp', 1)))} for "
         f"one cold call, as asv times `time_` benchmarks)"],
        ["batch predict, 8 x 32 tanh: >= 4x",
         f"{ratio(batch.get(('sklearn', 1)), batch.get(('cymlp', 1)))} (ceiling "
         f"{ratio(batch.get(('sklearn', 1)), floors.get(('gemm_tanh',)))} with numpy's "
         f"tanh, {ratio(batch.get(('sklearn', 1)), floors.get(('gemm',)))} with a free one)"],
        ["`peakmem_fit` no higher than scikit-learn's",
         (f"cymlp - sklearn from {min(diffs):+.2f} to {max(diffs):+.2f} MiB over "
          f"{len(diffs)} rows" if diffs else "n/a")],
    ]
    return markdown(["target", "measured in this run"], rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", help="an asv results JSON file")
    parser.add_argument("--results-dir", default=DEFAULT_RESULTS)
    parser.add_argument("--machine")
    parser.add_argument("--commit", help="commit hash prefix")
    args = parser.parse_args(argv)

    path = args.file
    if path is None:
        machine = args.machine or default_machine(args.results_dir)
        path = latest_results_file(args.results_dir, machine, args.commit)
    data, table = load_results(path)
    labels = workload_labels()

    p = data.get("params", {})
    print(f"Results: `{os.path.relpath(path)}` (commit "
          f"{data.get('commit_hash', '?')[:8]}, machine {p.get('machine')}, "
          f"{p.get('cpu')}, {p.get('num_cpu')} cores)\n")
    print("Targets:\n")
    print(targets_table(table) + "\n")
    threads_targets = threads_targets_table(table)
    if threads_targets:
        print(threads_targets + "\n")
    print("speedup = sklearn time / cymlp time (> 1: cymlp faster).\n")
    est, speedups = estimator_table(table, labels)
    print(est)
    if speedups:
        geo = math.exp(sum(map(math.log, speedups)) / len(speedups))
        print(f"\nGeometric mean fit speedup: {geo:.2f}x "
              f"over {len(speedups)} workload/thread rows.")
    lat = latency_table(table, labels)
    if lat:
        print("\n" + lat)
    ex = extras_table(table)
    if ex:
        print("\n" + ex)
    for extra in (torch_table(table, labels), onnx_table(table), simd_table(table)):
        if extra:
            print("\n" + extra)
    threads = threads_table(table, labels)
    if threads:
        print("\nOne fit on every core (n_jobs): asv fit times; ratios from them, "
              "and in brackets timed interleaved in one process (best of 5).\n")
        print(threads)
    model = scaling_model_table(table, labels)
    if model:
        print("\nScaling model (a model, not a measurement): speedup(T) <= 1 / (s + "
              "(1 - s) / min(T, K)); s = share of an n_jobs=1 fit outside the kernel "
              "calls, K = blocks per batch.\n")
        print(model)
    gf = gflops_table(table, labels)
    if gf:
        print("\nAchieved GFLOP/s = 6 x n_weights x n_samples x epochs / fit "
              "time (best of a few fits); numpy = the same GEMMs alone.\n")
        print(gf)
        print("\nspeedup ceiling = sklearn fit time / numpy GEMM time: the "
              "best any implementation running the same GEMMs through the "
              "same BLAS could do.")
    floor = predict_floor_lines(table)
    if floor:
        print("\n" + floor)


if __name__ == "__main__":
    main()
