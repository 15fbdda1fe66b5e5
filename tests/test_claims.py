"""The claims table (docs/claims.rst) cannot rot.

Each row of the table quotes a sentence of README.md or docs/ and names the
checks behind it: tests (``tests/test_x.py::test_name``, or a whole file),
asv benchmarks (``benchmarks/benchmarks/x.py::Class.method``) and CI steps
(``.ci/...``). Here, without running any of them: every quote is still in
the file it names, every row names at least one check, and every check it
names exists (test functions and benchmark methods found by parsing the
source, benchmark methods inherited from a base class too).
"""

import ast
import re
from functools import cache
from pathlib import Path

import pytest

import cymlp

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "docs" / "claims.rst"
ROW = re.compile(r"^   \* - (?P<source>[\w./-]+): \"(?P<quote>.+)\"$")
CHECK = re.compile(r"``((?:tests|benchmarks|\.ci)/[^`\s]+)``")


def rows():
    """(source, quote, [checks]) for each row of the table, in order."""
    found, current = [], None
    for line in TABLE.read_text().splitlines():
        match = ROW.match(line)
        if match:
            current = (match["source"], match["quote"], [])
            found.append(current)
        elif line.startswith("   * - "):  # the header row, or a malformed claim
            current = None
            assert line.strip() == "* - Claim", f"a claim not as 'path: \"quote\"': {line}"
        elif current is not None:
            current[2].extend(CHECK.findall(line))
    return found


def source_path(source):
    """A quoted file: in the checkout, or for the package's own files
    (src/cymlp/...) the installed copy (the release step runs these tests
    against an installed wheel, from a copy of tests/ and docs/)."""
    if source.startswith("src/cymlp/"):
        return Path(cymlp.__file__).parent / source.removeprefix("src/cymlp/")
    return ROOT / source


def squeeze(text):
    return " ".join(text.split())


@cache
def functions_of(path):
    """Names of the test functions of a file: 'test_x' and 'TestClass::test_x'."""
    names = set()
    for node in ast.parse((ROOT / path).read_text()).body:
        if isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names |= {f"{node.name}::{item.name}" for item in node.body
                      if isinstance(item, ast.FunctionDef)}
    return names


@cache
def benchmark_classes():
    """{class name: (method names, base class names)} over the asv suite."""
    classes = {}
    for path in (ROOT / "benchmarks" / "benchmarks").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                methods = {item.name for item in node.body
                           if isinstance(item, ast.FunctionDef)}
                bases = [base.id for base in node.bases if isinstance(base, ast.Name)]
                classes[(path.name, node.name)] = (methods, bases)
    return classes


def benchmark_has(path, cls, method):
    """Does class ``cls`` of a benchmark file have ``method``, itself or inherited?"""
    classes = benchmark_classes()
    todo = [key for key in classes if key == (Path(path).name, cls)]
    while todo:
        methods, bases = classes[todo.pop()]
        if method in methods:
            return True
        todo += [key for key in classes if key[1] in bases]
    return False


def check_exists(check):
    path, _, name = check.partition("::")
    if not (ROOT / path).is_file():
        return False
    if not name:
        return True
    if path.startswith("tests/"):
        return name in functions_of(path)
    cls, _, method = name.partition(".")
    return path.startswith("benchmarks/") and benchmark_has(path, cls, method)


def test_the_table_has_rows():
    assert len(rows()) >= 50


@pytest.mark.parametrize("source, quote, checks", rows(),
                         ids=[f"{r[0]}:{r[1][:40]}" for r in rows()])
def test_claim_is_quoted_and_checked(source, quote, checks):
    path = source_path(source)
    assert path.is_file(), f"no file {source}"
    text = path.read_text()
    assert squeeze(quote) in squeeze(text), f"{source} no longer says: {quote}"
    assert checks, "a claim without a check"
    missing = [check for check in checks if not check_exists(check)]
    assert not missing, f"no such test, benchmark or step: {missing}"


def test_the_checker_finds_what_is_missing():
    # the existence checks can fail
    assert check_exists("tests/test_claims.py::test_the_table_has_rows")
    assert not check_exists("tests/test_claims.py::test_no_such_thing")
    assert not check_exists("tests/test_no_such_file.py")
    assert check_exists("benchmarks/benchmarks/tabular.py::Tabular.time_fit")  # inherited
    assert not check_exists("benchmarks/benchmarks/tabular.py::Tabular.time_nothing")
    assert not check_exists("benchmarks/benchmarks/tabular.py::NoSuchClass.time_fit")
