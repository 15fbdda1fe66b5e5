"""The code shown to users runs: every Python block of README.md and docs/.

Blocks are README.md's fenced ```python blocks and the ``.. code-block::
python`` directives of docs/**/*.rst. Each block runs as a script
(``__name__ == "__main__"``) in a fresh temporary directory, with ``X, y`` a
small classification problem for the fragments that use them without
defining them. A block is skipped only explicitly: in docs/ by a first line
``# snippet: skip -- <reason>``; in README.md (which cannot carry the marker
without showing it) by an entry of ``README_SKIPS``, a string unique to the
block and the reason. A skip that matches no block fails, so none goes
stale. The blocks of one file build on each other: each runs after the
file's earlier (not skipped) blocks, in the same namespace. The gallery scripts run in the docs build (.ci/steps/70-docs.sh).
"""

import re
import warnings
from pathlib import Path

import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SKIP_MARKER = re.compile(r"^# snippet: skip -- (.+)")

README_SKIPS = {}


def markdown_blocks(path):
    """(first line number, code) of each fenced ```python block."""
    blocks, lines = [], path.read_text().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            start = i + 1
            i = start
            while lines[i].strip() != "```":
                i += 1
            blocks.append((start + 1, "\n".join(lines[start:i])))
        i += 1
    return blocks


def rst_blocks(path):
    """(first line number, code) of each ``.. code-block:: python``."""
    blocks, lines = [], path.read_text().splitlines()
    for i, line in enumerate(lines):
        match = re.match(r"^(\s*)\.\. code-block:: python\s*$", line)
        if not match:
            continue
        indent = len(match.group(1))
        body, j = [], i + 1
        while j < len(lines) and (
            not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > indent
        ):
            body.append(lines[j])
            j += 1
        code = "\n".join(body).strip("\n")
        # Drop the directive's indentation.
        width = min(len(b) - len(b.lstrip()) for b in body if b.strip())
        code = "\n".join(b[width:] for b in code.splitlines())
        blocks.append((i + 2, code))
    return blocks


def file_params(path, blocks, reason_of):
    """One param per block: (earlier runnable blocks of the file, code, skip)."""
    params, earlier = [], []
    for line, code in blocks:
        reason = reason_of(code)
        params.append(pytest.param(
            "\n\n".join(earlier), code, reason,
            id=f"{path.relative_to(ROOT)}:{line}",
        ))
        if reason is None:
            earlier.append(code)
    return params


def readme_skip(code):
    return next((r for key, r in README_SKIPS.items() if key in code), None)


def marker_skip(code):
    match = SKIP_MARKER.match(code.splitlines()[0] if code else "")
    return match.group(1) if match else None


def all_blocks():
    readme = ROOT / "README.md"
    params = file_params(readme, markdown_blocks(readme), readme_skip)
    for path in sorted(DOCS.rglob("*.rst")):
        if {"_build", "auto_examples", "generated"} & set(path.parts):
            continue
        params += file_params(path, rst_blocks(path), marker_skip)
    return params


BLOCKS = all_blocks()


def test_blocks_were_found():
    ids = [p.id for p in BLOCKS]
    assert sum(i.startswith("README.md") for i in ids) >= 2
    assert sum(i.startswith("docs/user_guide") for i in ids) >= 10


def test_every_readme_skip_matches_one_block():
    readme = [code for _, code in markdown_blocks(ROOT / "README.md")]
    for key in README_SKIPS:
        assert sum(key in code for code in readme) == 1, key


@pytest.mark.parametrize("earlier, code, skip_reason", BLOCKS)
def test_snippet_runs(earlier, code, skip_reason, tmp_path, monkeypatch):
    if skip_reason:
        pytest.skip(skip_reason)
    monkeypatch.chdir(tmp_path)
    X, y = make_classification(n_samples=200, n_features=8, random_state=0)
    namespace = {"__name__": "__main__", "X": X, "y": y}
    with warnings.catch_warnings():
        # The snippets train for few epochs on purpose.
        warnings.simplefilter("ignore", ConvergenceWarning)
        # A page's blocks build on each other: run the ones before it first.
        exec(compile(earlier, "<earlier blocks>", "exec"), namespace)
        exec(compile(code, "<snippet>", "exec"), namespace)
