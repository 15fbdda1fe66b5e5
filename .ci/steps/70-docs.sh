#!/usr/bin/env bash
# Build the documentation site from a clean environment, as a user would
# (pip install ".[docs]"), with warnings as errors: a public docstring that
# fails numpydoc's validation, a broken reference, or a gallery example that
# raises fails this step. Every gallery example runs. The build happens in a
# copy of docs/, so the checkout is left clean; prints the build time.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

work=$(mktemp -d)
python3 -m venv "$work/venv"
start=$SECONDS
"$work/venv/bin/pip" install -q "$root[docs]" > "$work/pip.log" 2>&1 \
  || { tail -n 60 "$work/pip.log"; exit 1; }
echo "docs: pip install .[docs] took $((SECONDS - start)) s"

cp -r "$root/docs" "$work/docs"
rm -rf "$work/docs/_build" "$work/docs/auto_examples" "$work/docs/api/generated"
cd "$work"   # import the installed cymlp, not the checkout
start=$SECONDS
MPLBACKEND=Agg "$work/venv/bin/python" -m sphinx -W --keep-going -b html \
  "$work/docs" "$work/html"
echo "docs: sphinx-build took $((SECONDS - start)) s"
test -f "$work/html/api/generated/cymlp.MLPClassifier.html"
test -f "$work/html/api/generated/cymlp.MLPRegressor.html"
n_figures=$(ls "$work/html/_images" | grep -c '^sphx_glr_plot_.*_[0-9][0-9][0-9]\.png$')
echo "docs: $n_figures gallery figures"
test "$n_figures" -ge 7
