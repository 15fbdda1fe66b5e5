#!/usr/bin/env bash
# The declared minimum versions must be true. Pins every dependency of
# cymlp and of its `test` extra in pyproject.toml to its declared floor
# (`numpy>=1.25` -> `numpy==1.25`, `scikit-learn>=1.9,<1.10` ->
# `scikit-learn==1.9`; a dependency without a floor stops the step),
# installs cymlp from the checkout under those pins (built as its wheels
# are, in an isolated environment with a recent numpy, so this also checks
# that they run on the oldest numpy), and runs the whole test suite from
# outside the checkout.
# A floor that scikit-learn 1.9 does not accept fails the install; a floor
# cymlp does not work with fails a test: raise it in pyproject.toml. A test
# skipped because an import failed fails the step too.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/python" - "$root/pyproject.toml" > "$work/oldest.txt" <<'PY'
"""Print one `name==floor` constraint per dependency (and test extra) with a floor."""
import re
import sys
import tomllib

project = tomllib.load(open(sys.argv[1], "rb"))["project"]
for req in project["dependencies"] + project["optional-dependencies"]["test"]:
    name, floor = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?.*>=([^,;\s]+).*", req).groups()
    print(f"{name}=={floor}")
PY
# Not ours: dask's floor. Later pyarrow releases need NumPy 2 without
# declaring it, and dask_ml.wrappers (the Incremental tests) needs pyarrow.
echo "pyarrow==14.0.1" >> "$work/oldest.txt"
echo "oldest declared versions:" $(cat "$work/oldest.txt")
# pip's log goes to a file (this machine's pip prints a line per ignored index)
"$work/venv/bin/pip" install -c "$work/oldest.txt" "$root[test]" > "$work/pip.log" 2>&1 \
  || { grep -v "^WARNING: Location" "$work/pip.log" | tail -n 40; exit 1; }
"$work/venv/bin/pip" check
"$work/venv/bin/pip" freeze | grep -iE "^(numpy|scipy|scikit-learn|threadpoolctl|pandas|matplotlib)=="

cd "$work"   # import the installed cymlp, not the checkout
"$work/venv/bin/python" -m pytest -p no:cacheprovider -ra "$root/tests" | tee "$work/pytest.log"
if grep -E "^SKIPPED .*could not import" "$work/pytest.log"; then
  echo "a test dependency does not import at the oldest versions" >&2
  exit 1
fi
