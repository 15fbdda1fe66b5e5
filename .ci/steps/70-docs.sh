#!/usr/bin/env bash
# Build the documentation site from a clean environment, as a user would
# (pip install ".[docs]"), with warnings as errors: a public docstring that
# fails numpydoc's validation, a broken reference, or a gallery example that
# raises fails this step. Every gallery example runs. The build happens in a
# copy of docs/, so the checkout is left clean; prints the build time. Then:
# .readthedocs.yaml (the published site's build) is valid under Read the
# Docs' schema and asks for this same build, and every README link into the
# site resolves to a page and anchor this build made.
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

# Read the Docs builds the published site from .readthedocs.yaml: it must
# be valid under Read the Docs' own config schema (check-jsonschema ships a
# copy) and ask for exactly this build (the docs extra, docs/conf.py, html,
# warnings as errors).
"$work/venv/bin/pip" install -q check-jsonschema > "$work/pip-schema.log" 2>&1 \
  || { tail -n 40 "$work/pip-schema.log"; exit 1; }
"$work/venv/bin/check-jsonschema" --builtin-schema vendor.readthedocs "$root/.readthedocs.yaml"
"$work/venv/bin/python" - "$root/.readthedocs.yaml" <<'PY'
import sys

from ruamel.yaml import YAML  # check-jsonschema's YAML parser

config = YAML(typ="safe").load(open(sys.argv[1]))
assert config["python"]["install"] == [
    {"method": "pip", "path": ".", "extra_requirements": ["docs"]}], config["python"]
assert config["sphinx"] == {"configuration": "docs/conf.py", "builder": "html",
                            "fail_on_warning": True}, config["sphinx"]
print("docs: .readthedocs.yaml asks for this build")
PY

# Every link of README.md into the docs site names a page this build made,
# and an anchor that page has.
"$work/venv/bin/python" - "$root/README.md" "$work/html" <<'PY'
import re
import sys
from pathlib import Path

SITE = "https://cymlp.readthedocs.io"
readme, html = Path(sys.argv[1]).read_text(), Path(sys.argv[2])
links = sorted({link.rstrip(".,") for link in
                re.findall(re.escape(SITE) + r"[^\s)>\]*]*", readme)})
assert links, "README.md has no link into the docs site"
broken = []
for link in links:
    path, _, anchor = link[len(SITE):].partition("#")
    path = path.removeprefix("/en/latest").lstrip("/")
    page = html / (path or "index.html")
    if page.is_dir():
        page = page / "index.html"
    if not page.is_file():
        broken.append(f"{link}: no page {page.relative_to(html)}")
    elif anchor and f'id="{anchor}"' not in page.read_text():
        broken.append(f"{link}: no anchor #{anchor} in {page.relative_to(html)}")
assert not broken, "\n".join(broken)
print(f"docs: the {len(links)} README links into the site resolve")
PY
