#!/usr/bin/env bash
# cymlp built with clang (Debian's), as macOS wheels are built with Apple
# clang: clang differs from GCC where the kernels rely on the compiler (its
# default is -ffp-contract=on, its inliner has other limits, GCC's
# --param=inline-unit-growth means nothing to it). With -Wall -Wextra as
# errors, the build must be warning-free; the compile commands must carry
# -ffp-contract=off; show_config() must name clang; the whole test suite
# passes; and the checks of .ci/lib/kernel-checks.sh hold as for GCC's build
# (no instruction above baseline x86-64 outside the AVX variants, no
# elementwise helper called out of line, no fused multiply-add, the same
# bits at every SIMD level).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/.ci/lib/apt.sh"
source "$root/.ci/lib/kernel-checks.sh"

command -v clang > /dev/null || apt_install clang
export CC=clang
clang --version | head -n 1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -v "$root[test]" -Csetup-args=-Dwarning_level=2 \
  -Csetup-args=-Dwerror=true -Ccompile-args=-v > "$work/install.log" 2>&1 \
  || { grep -E "(warning|error):" "$work/install.log" | head -n 40; tail -n 40 "$work/install.log"; exit 1; }

# ninja -v printed every compile command: clang's, with the kernels' flags.
grep -E -- " -c [^ ]*\.pyx\.c" "$work/install.log" > "$work/compile.txt"
[ "$(wc -l < "$work/compile.txt")" -ge 8 ] || { echo "no compile commands in the log" >&2; exit 1; }
for flag in -ffp-contract=off -Werror -Wextra; do
  if grep -v -- "$flag" "$work/compile.txt"; then
    echo "$flag did not reach the compile commands above" >&2; exit 1
  fi
done
if grep -vE "^ *(\[[0-9]+/[0-9]+\] )?clang " "$work/compile.txt"; then
  echo "a kernel was not compiled by clang" >&2; exit 1
fi

py="$work/venv/bin/python"
cd "$work"   # import the installed build, not the checkout
"$py" -m cymlp info | tee "$work/info.txt" | grep -E "^  (compiler|chosen|built) "
grep -qE "^  compiler +clang [0-9]" "$work/info.txt" \
  || { echo "show_config() does not report clang" >&2; exit 1; }

pkg=$("$py" -c "import cymlp, os; print(os.path.dirname(cymlp.__file__))")
if [ "$(uname -m)" = x86_64 ]; then
  check_isa "$pkg"
fi
check_inlined "$work" "$pkg"
check_no_fma "$work" "$pkg"
check_same_bits "$py" "$root" "$work"
"$py" -m pytest -q -p no:cacheprovider "$root/tests"
