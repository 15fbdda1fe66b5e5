#!/usr/bin/env bash
# Newer CPythons than the default python3 that the README's command and the
# other steps use: the whole test suite on the newest this machine has
# (pyenv's versions, or python3.N on PATH), and on 3.12 the tests of the
# compiled code and of scikit-learn's behaviour (QUICK below: the whole
# suite there too would take the CI run past its time budget), each
# installed from the checkout into its own venv and tested from outside it. GIL builds
# only: cymlp does not declare free-threading support. The "Programming
# Language :: Python :: 3.N" classifiers of pyproject.toml must be exactly
# the versions CI tests: python3's and the ones run here.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

minor() {   # "3.N" of the interpreter $1, or nothing if it is free-threaded
  "$1" -c 'import sys, sysconfig
if not sysconfig.get_config_var("Py_GIL_DISABLED"): print("%d.%d" % sys.version_info[:2])'
}
declare -A found
for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.*/bin/python3 \
                 $(compgen -c python3. | grep -E '^python3\.[0-9]+$' | sort -u); do
  exe=$(command -v "$candidate" || true)
  [ -n "$exe" ] && [ -x "$exe" ] || continue
  v=$(minor "$exe" 2> /dev/null || true)
  [ -n "$v" ] && found[$v]=$exe
done
default=$(minor python3)
newest=$(printf '%s\n' "${!found[@]}" | sort -V | tail -n 1)
echo "CPythons found: $(printf '%s\n' "${!found[@]}" | sort -V | tr '\n' ' ')(python3 is $default)"
[ "$(printf '%s\n' "$newest" "$default" | sort -V | tail -n 1)" != "$default" ] \
  || { echo "no CPython newer than python3 ($default) on this machine" >&2; exit 1; }
tested=("$newest")
[ "$newest" = 3.12 ] || [ -z "${found[3.12]:-}" ] || tested+=(3.12)

# 3.12's share: the kernels, the dispatch, parity with scikit-learn and its
# own MLP tests, the data-parallel path, persistence and the fit transaction
QUICK=(test_kernels.py test_fastmath.py test_dispatch.py test_parity.py test_sklearn_suite.py
       test_n_jobs.py test_persistence.py test_fit_transaction.py test_boundary.py)

cd "$work"   # import the installed cymlp, not the checkout
for v in "${tested[@]}"; do
  echo "+ CPython $v: ${found[$v]}"
  start=$SECONDS
  "${found[$v]}" -m venv "$work/venv$v"
  # pip's log goes to a file (this machine's pip prints a line per ignored index)
  "$work/venv$v/bin/pip" install "$root[test]" > "$work/pip$v.log" 2>&1 \
    || { grep -v "^WARNING: Location" "$work/pip$v.log" | tail -n 40; exit 1; }
  tests=("$root/tests")
  [ "$v" = "$newest" ] || tests=("${QUICK[@]/#/$root/tests/}")
  "$work/venv$v/bin/python" -m pytest -p no:cacheprovider -q "${tests[@]}" | tee "$work/pytest$v.log"
  if grep -E "^SKIPPED .*could not import" "$work/pytest$v.log"; then
    echo "a test dependency does not import on CPython $v" >&2
    exit 1
  fi
  echo "+ CPython $v: $((SECONDS - start)) s"
done

python3 - "$root/pyproject.toml" "$default" "${tested[@]}" <<'PY'
import sys
import tomllib

classifiers = tomllib.load(open(sys.argv[1], "rb"))["project"]["classifiers"]
prefix = "Programming Language :: Python :: 3."
claimed = {c.removeprefix("Programming Language :: Python :: ") for c in classifiers
           if c.startswith(prefix)}
tested = set(sys.argv[2:])
assert claimed == tested, f"classifiers name {sorted(claimed)}, CI tests {sorted(tested)}"
print("classifiers: Python", ", ".join(sorted(claimed)), "= the versions CI tests")
PY
