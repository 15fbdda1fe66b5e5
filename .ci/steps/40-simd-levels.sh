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
#    kernel tests pass, and a set of fits gives the same bits; the dispatch
#    tests (every level's kernels bit for bit against the baseline's) and the
#    accuracy tests of every level's kernels (test_fastmath) pass.
# .ci/steps/45-clang.sh runs the same checks on a clang build.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/.ci/lib/kernel-checks.sh"

work=$(mktemp -d)
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
