#!/usr/bin/env bash
# Build the kernels once more with ThreadSanitizer (meson's b_sanitize=thread)
# and run the data-parallel path (n_jobs) under it: tests/test_n_jobs.py (the
# blocked loss and gradient of every activation and head, fits with n_jobs
# 1-4 and -1 of every solver and extra, parallel predict, concurrent parallel
# fits from Python threads, Ctrl-C). Fails on any report.
#
# GCC's libgomp is not built for TSan, so TSan does not see how it orders its
# threads where a parallel region starts and ends and at a barrier, and would
# report the accesses on either side as races. The kernels tell TSan what
# those points order (src/cymlp/_openmp.pxd: a release before, an acquire
# after, compiled only under -fsanitize=thread). One access cannot be
# annotated: the function GCC outlines from each parallel region reads the
# region's shared arguments (written by the thread that starts the region)
# before any code of ours runs. The suppression race_top:_omp_fn
# covers reports whose access is in such a function, and this step checks
# that those functions hold nothing else: they write nothing and call the
# regions' bodies (block_thread, predict_chunks), which are not inlined.
#
# OpenBLAS (scipy's and numpy's) is not instrumented either, and orders its
# own worker threads with spin flags TSan cannot see: with n_jobs=None a
# large product runs on OpenBLAS's threads, and the memset its workers make
# through TSan's interceptor (dgemm_beta zeroing the output) would be
# reported against our read of the result after the call returned. The
# suppressions called_from_lib:libscipy_openblas- (scipy's) and
# libscipy_openblas64_ (numpy's; one library per pattern) make those intercepted calls
# as invisible as the rest of OpenBLAS's memory accesses already are; every
# access of cymlp's own (instrumented) code is still checked.
#
# The step first proves the instrumentation is there: the modules link
# libtsan, the flag reached the compiler, and the preloaded runtime reports a
# race planted in one of cymlp's kernels. Python is not instrumented (its GIL is a pthread mutex, which
# TSan intercepts); the runtime is preloaded.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

tsan_venv=$(mktemp -d)/venv-tsan
python3 -m venv "$tsan_venv"
"$tsan_venv/bin/pip" install -v "$root[test]" \
  -Csetup-args=-Db_sanitize=thread \
  -Csetup-args=-Db_lundef=false \
  -Ccompile-args=-v > "$tsan_venv.log" 2>&1 || { tail -n 60 "$tsan_venv.log"; exit 1; }

for what in "-c [^ ]*_network\.pyx\.c" "-o [^ ]*_network[^ ]*\.so "; do
  grep -E -- "$what" "$tsan_venv.log" | grep -q -- "-fsanitize=thread" \
    || { echo "-fsanitize=thread did not reach the command matching '$what'" >&2; exit 1; }
done

site=$("$tsan_venv/bin/python" -c 'import sysconfig; print(sysconfig.get_path("platlib"))')
for so in "$site"/cymlp/_*.so; do
  readelf -d "$so" | grep NEEDED | grep -q libtsan \
    || { echo "$so does not link libtsan: not a TSan build" >&2; exit 1; }
done

# The outlined parallel regions: they only read their arguments and call a body.
for so in "$site"/cymlp/_network*.so; do
  objdump -d --no-show-raw-insn "$so" | awk '
    /^[0-9a-f]+ <.*_omp_fn\.[0-9]+>:$/ { inside = 1; n++; calls = 0; next }
    /^$/ { if (inside && !calls) { print "an outlined region calls no body"; bad = 1 }
           inside = 0; next }
    inside && /__tsan_(unaligned_)?write/ { print "an outlined region writes: " $0; bad = 1 }
    inside && /call.*<[^>]*(block_thread|predict_chunks)[^>+]*>/ { calls = 1 }
    END { if (n == 0) { print "no outlined parallel region found"; bad = 1 }
          exit bad }' \
    || { echo "$so: the race_top:_omp_fn suppression would cover more than the regions' arguments" >&2; exit 1; }
done

work=$(dirname "$tsan_venv")
printf 'race_top:_omp_fn\ncalled_from_lib:libscipy_openblas-\ncalled_from_lib:libscipy_openblas64_\n' > "$work/tsan.supp"
export LD_PRELOAD
LD_PRELOAD=$(gcc -print-file-name=libtsan.so)
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 report_signal_unsafe=0 suppressions=$work/tsan.supp"

cd "$work"   # import the installed TSan build, not the checkout

# The preloaded runtime is live: two Python threads running one of cymlp's
# kernels (an SGD step, without the GIL) on the same buffers race.
status=0
"$tsan_venv/bin/python" - <<'EOF' 2>/dev/null || status=$?
import threading
import numpy as np
from cymlp._optimizers import sgd_update
params, grads, velocity = np.zeros(1 << 16), np.ones(1 << 16), np.zeros(1 << 16)
def step():
    for _ in range(20):
        sgd_update(params, grads, velocity, 0.1, 0.9, False)
threads = [threading.Thread(target=step) for _ in range(2)]
for t in threads: t.start()
for t in threads: t.join()
EOF
[ "$status" -eq 66 ] || { echo "TSan did not report a planted race (exit $status): the runtime is not active" >&2; exit 1; }

"$tsan_venv/bin/python" -m pytest -p no:cacheprovider -q -s "$root/tests/test_n_jobs.py" \
  -k "not every_simd_level"
