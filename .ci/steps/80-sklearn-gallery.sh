#!/usr/bin/env bash
# "Swap the import; nothing else", on scikit-learn 1.9.1's own gallery: the
# examples that use its MLP and run offline, taken from scikit-learn 1.9.1's
# sdist on PyPI, run headless as shipped and with only the import swapped
# for cymlp's. They must run, cymlp's runs must print no warning that
# scikit-learn's do not, and the sgd/adam examples must print and draw the
# same numbers (.ci/sklearn_gallery.py says what is compared). cymlp is
# installed from the checkout as a user would, with scikit-learn 1.9.1.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
start=$SECONDS
"$work/venv/bin/pip" install "$root[demo]" "scikit-learn==1.9.1" "pandas>=2" \
  > "$work/pip.log" 2>&1 || { tail -n 60 "$work/pip.log"; exit 1; }
echo "sklearn-gallery: pip install took $((SECONDS - start)) s"
cd "$work"   # import the installed cymlp, not the checkout
start=$SECONDS
"$work/venv/bin/python" "$root/.ci/sklearn_gallery.py"
echo "sklearn-gallery: the examples took $((SECONDS - start)) s"
