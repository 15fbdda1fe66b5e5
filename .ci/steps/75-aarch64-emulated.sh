#!/usr/bin/env bash
# cymlp on aarch64, where only the baseline level exists and NEON is the
# vector ISA: cross-compiled (warnings as errors) and run under user-mode
# emulation by tools/aarch64-emulated.sh, which says how (no aarch64
# machine, the host's binfmt settings untouched) and first checks the
# build: AArch64 code only, the baseline network alone, built, chosen and
# reported; no out-of-line elementwise helper, no fused multiply-add.
# Then these test files run under emulation, at the tolerances they use on
# x86-64 (test_parity: the same as scikit-learn's to ~1e-15).
# Deselected, because they start a Python subprocess, which the host cannot
# execute (the script checks the same things by starting the emulator):
# test_dispatch.py's test_only_the_chosen_level_is_imported,
# test_unknown_level_is_refused, test_show_config_names_the_level_and_versions.
# A test skipped because an import failed fails the step.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

CYMLP_AARCH64_DIR="$work/aarch64" bash "$root/tools/aarch64-emulated.sh" \
  tests/test_fastmath.py tests/test_kernels.py tests/test_dispatch.py tests/test_parity.py \
  tests/test_sklearn_suite.py tests/test_extras.py tests/test_boundary.py \
  tests/test_shuffle.py tests/test_behaviour.py tests/test_sklearn_semantics.py \
  tests/test_fit_transaction.py tests/test_persistence.py -k "not skops" \
  --deselect tests/test_dispatch.py::test_only_the_chosen_level_is_imported \
  --deselect tests/test_dispatch.py::test_unknown_level_is_refused \
  --deselect tests/test_dispatch.py::test_show_config_names_the_level_and_versions \
  | tee "$work/pytest.log"
# (-k "not skops" deselects the skops tests too: at least 3 deselected)
deselected=$(grep -oE "^[0-9]+ passed, .* ([0-9]+) deselected" "$work/pytest.log" \
             | grep -oE "[0-9]+ deselected" | grep -oE "[0-9]+" || echo 0)
[ "$deselected" -ge 3 ] \
  || { echo "the three subprocess tests were not deselected (or nothing passed)" >&2; exit 1; }
if grep -E "^SKIPPED .*could not import" "$work/pytest.log"; then
  echo "a test dependency does not import under emulation" >&2
  exit 1
fi
