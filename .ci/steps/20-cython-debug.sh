#!/usr/bin/env bash
# Build the kernels once more with Cython's bounds checks on
# (-Dcython-debug=true) and run the kernel and fuzz tests against that
# build, so an out-of-bounds index through a memoryview raises instead of
# passing silently.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

debug_venv=$(mktemp -d)/venv-debug
python3 -m venv "$debug_venv"
"$debug_venv/bin/pip" install -v "$root[test]" -Csetup-args=-Dcython-debug=true \
  -Ccompile-args=-v > "$debug_venv.log" 2>&1 || { tail -n 60 "$debug_venv.log"; exit 1; }
grep -q -- "-X boundscheck=True -X wraparound=True -X initializedcheck=True" "$debug_venv.log" \
  || { echo "the cython-debug flags did not reach cython" >&2; exit 1; }
cd "$(dirname "$debug_venv")"   # import the installed debug build, not the checkout
CYMLP_EXPECT_BOUNDSCHECK=1 "$debug_venv/bin/python" -m pytest -p no:cacheprovider \
  "$root/tests/test_kernels.py" "$root/tests/test_shuffle.py" "$root/tests/test_extras.py" \
  "$root/tests/test_fuzz.py" \
  "$root/tests/test_runtime.py::test_kernels_are_built_with_bounds_checks"
