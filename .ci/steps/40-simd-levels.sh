#!/usr/bin/env bash
# The portable default build (GCC, -Wall -Wextra as errors) and its runtime
# CPU dispatch, with the checks of .ci/lib/kernel-checks.sh:
# 1. On x86-64, no installed kernel module holds an instruction above baseline
#    x86-64 (SSE2) except the dispatch variants _network_avx2/_network_avx512
#    and their test entry points _kernel_entries_avx2/_kernel_entries_avx512.
# 2. No network module calls an elementwise helper (_fastmath's exp, log,
#    tanh, Phi; the activations, losses, ...) out of line, and no module
#    holds a fused multiply-add (-ffp-contract=off reached the compiler).
# 3. At every SIMD level this machine runs (CYMLP_SIMD=...), the parity and
#    kernel tests pass, and a set of fits gives the same bits, n_jobs=None's
#    (tests/test_dispatch.py) and the data-parallel path's with n_jobs=2
#    (tests/test_n_jobs.py); the dispatch tests (every level's kernels bit
#    for bit against the baseline's) and the accuracy tests of every level's
#    kernels (test_fastmath) pass.
# 4. The build without OpenMP (-Dopenmp=disabled, what a compiler without
#    OpenMP gives) links no OpenMP runtime, says so in show_config, runs
#    n_jobs on one thread, and gives the same bits as the OpenMP build at
#    every level, for both sets of fits; tests/test_n_jobs.py passes on it.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/.ci/lib/kernel-checks.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install "$root[test]" -Csetup-args=-Dwarning_level=2 \
  -Csetup-args=-Dwerror=true > "$work/install.log" 2>&1 \
  || { tail -n 60 "$work/install.log"; exit 1; }
py="$work/venv/bin/python"
cd "$work"   # import the installed build, not the checkout
pkg=$("$py" -c "import cymlp, os; print(os.path.dirname(cymlp.__file__))")

if [ "$(uname -m)" = x86_64 ]; then
  check_isa "$pkg"
fi
check_inlined "$work" "$pkg"
check_no_fma "$work" "$pkg"
check_same_bits "$py" "$root" "$work" "$root/tests/test_parity.py" "$root/tests/test_kernels.py"
# The kernels of every level against the baseline's, in one process, and
# every level's accuracy on extreme inputs.
"$py" -m pytest -q -p no:cacheprovider "$root/tests/test_dispatch.py" \
  "$root/tests/test_fastmath.py"

# 4. Without OpenMP.
python3 -m venv "$work/serial"
"$work/serial/bin/pip" install "$root[test]" -Csetup-args=-Dopenmp=disabled \
  > "$work/serial.log" 2>&1 || { tail -n 60 "$work/serial.log"; exit 1; }
serial="$work/serial/bin/python"
spkg=$("$serial" -c "import cymlp, os; print(os.path.dirname(cymlp.__file__))")
for module in "$spkg"/*.so; do
  if readelf -d "$module" | grep NEEDED | grep -qiE 'gomp|libomp|iomp|vcomp'; then
    echo "$module links an OpenMP runtime in a build without OpenMP" >&2; exit 1
  fi
done
"$serial" -c "import cymlp
from cymlp._threads import effective_n_threads
assert cymlp._build_config.OPENMP is False and not cymlp._openmp.openmp_enabled()
assert effective_n_threads(-1) == effective_n_threads(4) == 1"
"$serial" -m cymlp info | grep -q "openmp     no: n_jobs runs on one thread" \
  || { echo "show_config does not say that n_jobs runs on one thread" >&2; exit 1; }
levels=$("$py" -c "from cymlp._dispatch import available_levels; print(*available_levels())")
for level in $levels; do
  got=$(CYMLP_SIMD=$level "$serial" "$root/tests/test_dispatch.py")
  [ "$got" = "$(cat "$work/digest.$level")" ] \
    || { echo "without OpenMP, n_jobs=None at $level: $got, not $(cat "$work/digest.$level")" >&2; exit 1; }
  got=$(CYMLP_SIMD=$level "$serial" "$root/tests/test_n_jobs.py" 2)
  [ "$got" = "$(cat "$work/parallel.$level")" ] \
    || { echo "without OpenMP, n_jobs=2 at $level: $got, not $(cat "$work/parallel.$level")" >&2; exit 1; }
done
echo "without OpenMP: the same bits at every level"
"$serial" -m pytest -q -p no:cacheprovider "$root/tests/test_n_jobs.py"
