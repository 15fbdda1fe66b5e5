#!/usr/bin/env bash
# The portable default build and its runtime CPU dispatch:
# 1. On x86-64, no installed kernel module holds an instruction above baseline
#    x86-64 (SSE2) except the dispatch variants _network_avx2/_network_avx512
#    (disassembled with objdump: ymm/zmm/mask registers, VEX/EVEX-encoded
#    instructions, SSE3..SSE4.2, POPCNT, BMI, MOVBE). The check is first run
#    on the variants, where it must fail, so a check that cannot fail fails.
# 2. At every SIMD level this machine runs (CYMLP_SIMD=...), the parity and
#    kernel tests pass, and a set of fits gives the same bits, n_jobs=None's
#    (tests/test_dispatch.py) and the data-parallel path's with n_jobs=2
#    (tests/test_n_jobs.py); the dispatch tests (every level's kernels bit
#    for bit against the baseline's) pass.
# 3. The build without OpenMP (-Dopenmp=disabled, what a compiler without
#    OpenMP gives) links no OpenMP runtime, says so in show_config, runs
#    n_jobs on one thread, and gives the same bits as the OpenMP build at
#    every level, for both sets of fits; tests/test_n_jobs.py passes on it.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

work=$(mktemp -d)
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install "$root[test]" > "$work/install.log" 2>&1 \
  || { tail -n 60 "$work/install.log"; exit 1; }
py="$work/venv/bin/python"
cd "$work"   # import the installed build, not the checkout
pkg=$("$py" -c "import cymlp, os; print(os.path.dirname(cymlp.__file__))")

# Instructions above baseline x86-64, as objdump spells them (tzcnt is left
# out: gcc's baseline ctz is `rep bsf`, which objdump prints as tzcnt).
above='^(v[a-z0-9]+|lddqu|h(add|sub)p[sd]|addsubp[sd]|mov(ddup|shdup|sldup)|pshufb'
above+='|palignr|pabs[bwd]|ph(add|sub)s?[wd]|pmulhrsw|psign[bwd]|p?blendv?(p[sd]|b|w)'
above+='|dpp[sd]|insertps|extractps|pextr[bdq]|pinsr[bdq]|pm(ax|in)(s[bd]|u[wd])'
above+='|pmul(dq|ld)|round[sp][sd]|ptest|packusdw|pcmp(eq|gt)q|pmov[sz]x[a-z]+|movntdqa'
above+='|mpsadbw|phminposuw|pcmp[ei]str[im]|crc32[a-z]*|popcnt|lzcnt|andn|bextr'
above+='|bls(i|msk|r)|bzhi|mulx|pdep|pext|rorx|sarx|shlx|shrx|movbe)$'
count_above() {   # number of above-baseline instructions in the ELF file $1
  objdump -d --no-show-raw-insn "$1" | awk -F'\t' -v re="$above" '
    NF >= 2 {
      n = split($2, w, " "); i = 1
      while (i < n && w[i] ~ /^(rep[a-z]*|lock|notrack|bnd|data16|addr32|cs|ds)$/) i++
      if (w[i] ~ re || $2 ~ /%[yz]mm|%k[0-7]/) c++
    }
    END { print c + 0 }'
}

if [ "$(uname -m)" = x86_64 ]; then
  for variant in "$pkg"/_network_avx2.*.so "$pkg"/_network_avx512.*.so; do
    n=$(count_above "$variant")
    echo "$(basename "$variant"): $n wide instructions (expected: many)"
    [ "$n" -gt 100 ] || { echo "the ISA check does not see AVX code in $variant" >&2; exit 1; }
  done
  for module in "$pkg"/*.so; do
    case "$(basename "$module")" in _network_avx2.*|_network_avx512.*) continue ;; esac
    n=$(count_above "$module")
    echo "$(basename "$module"): $n instructions above baseline x86-64"
    [ "$n" -eq 0 ] || { echo "$module needs more than baseline x86-64" >&2; exit 1; }
  done
fi

# Every _fastmath helper (exp, log, tanh, Phi) inlined into the network's
# loops at every level: an out-of-line call runs one value at a time. GCC
# stops inlining when the unit's budget runs out (see src/cymlp/meson.build).
# Before that fix this check counted 2 calls (logistic's exp) per module. It
# reads symbol names, so it first makes sure the modules still have them.
for module in "$pkg"/_network*.so; do
  objdump -d --no-show-raw-insn "$module" > "$work/disassembly"
  grep -qE '^[0-9a-f]* <__pyx_(fuse_[0-9]+__pyx_)?f_5cymlp_' "$work/disassembly" \
    || { echo "$module has no symbols: cannot check the inlining" >&2; exit 1; }
  # a call or a tail jump to a helper's entry (<name>, not <name+0x..>)
  n=$(grep -Ec '\s(call|jmp|bl|b)\s[^<]*<[^>+]*_fastmath_[^>+]*>$' "$work/disassembly" || true)
  echo "$(basename "$module"): $n out-of-line calls to _fastmath helpers"
  [ "$n" -eq 0 ] || { echo "$module calls a _fastmath helper out of line" >&2; exit 1; }
done

levels=$("$py" -c "from cymlp._dispatch import available_levels; print(*available_levels())")
echo "SIMD levels this machine runs: $levels"
for level in $levels; do
  echo "+ CYMLP_SIMD=$level"
  CYMLP_SIMD=$level "$py" -c "import cymlp, sys
assert cymlp._dispatch.LEVEL == '$level'
assert [m for m in sys.modules if m.startswith('cymlp._network')] == ['cymlp.' + cymlp._dispatch.MODULES['$level']]"
  CYMLP_SIMD=$level "$py" -m pytest -q -p no:cacheprovider \
    "$root/tests/test_parity.py" "$root/tests/test_kernels.py"
  CYMLP_SIMD=$level "$py" "$root/tests/test_dispatch.py" > "$work/digest.$level"
  CYMLP_SIMD=$level "$py" "$root/tests/test_n_jobs.py" 2 > "$work/parallel.$level"
done
# The kernels of every level against the baseline's, in one process.
"$py" -m pytest -q -p no:cacheprovider "$root/tests/test_dispatch.py"
# The same fits at every level: the same bits.
cut -d' ' -f2 "$work"/digest.* | sort -u | wc -l | grep -qx 1 \
  || { echo "the SIMD levels disagree:" >&2; cat "$work"/digest.* >&2; exit 1; }
echo "every level gives the same bits: $(cut -d' ' -f2 "$work/digest.baseline")"
cut -d' ' -f2 "$work"/parallel.* | sort -u | wc -l | grep -qx 1 \
  || { echo "the SIMD levels disagree on n_jobs=2:" >&2; cat "$work"/parallel.* >&2; exit 1; }
echo "n_jobs=2: every level gives the same bits: $(cut -d' ' -f2 "$work/parallel.baseline")"

# 3. Without OpenMP.
python3 -m venv "$work/serial"
"$work/serial/bin/pip" install "$root[test]" -Csetup-args=-Dopenmp=disabled \
  > "$work/serial.log" 2>&1 || { tail -n 60 "$work/serial.log"; exit 1; }
serial="$work/serial/bin/python"
spkg=$("$serial" -c "import cymlp, os; print(os.path.dirname(cymlp.__file__))")
for module in "$spkg"/*.so; do
  if readelf -d "$module" | grep NEEDED | grep -qiE 'gomp|libomp|iomp|vcomp'; then
    echo "$module links an OpenMP runtime in a build without OpenMP" >&2; exit 1
  fi
done
"$serial" -c "import cymlp
from cymlp._threads import effective_n_threads
assert cymlp._build_config.OPENMP is False and not cymlp._openmp.openmp_enabled()
assert effective_n_threads(-1) == effective_n_threads(4) == 1"
"$serial" -m cymlp info | grep -q "openmp     no: n_jobs runs on one thread" \
  || { echo "show_config does not say that n_jobs runs on one thread" >&2; exit 1; }
for level in $levels; do
  got=$(CYMLP_SIMD=$level "$serial" "$root/tests/test_dispatch.py")
  [ "$got" = "$(cat "$work/digest.$level")" ] \
    || { echo "without OpenMP, n_jobs=None at $level: $got, not $(cat "$work/digest.$level")" >&2; exit 1; }
  got=$(CYMLP_SIMD=$level "$serial" "$root/tests/test_n_jobs.py" 2)
  [ "$got" = "$(cat "$work/parallel.$level")" ] \
    || { echo "without OpenMP, n_jobs=2 at $level: $got, not $(cat "$work/parallel.$level")" >&2; exit 1; }
done
echo "without OpenMP: the same bits at every level"
"$serial" -m pytest -q -p no:cacheprovider "$root/tests/test_n_jobs.py"
