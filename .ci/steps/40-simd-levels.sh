#!/usr/bin/env bash
# The portable default build and its runtime CPU dispatch:
# 1. On x86-64, no installed kernel module holds an instruction above baseline
#    x86-64 (SSE2) except the dispatch variants _network_avx2/_network_avx512
#    and their test entry points _kernel_entries_avx2/_kernel_entries_avx512
#    (disassembled with objdump: ymm/zmm/mask registers, VEX/EVEX-encoded
#    instructions, SSE3..SSE4.2, POPCNT, BMI, MOVBE). The check is first run
#    on the variants, where it must fail, so a check that cannot fail fails.
# 2. At every SIMD level this machine runs (CYMLP_SIMD=...), the parity and
#    kernel tests pass, and a set of fits gives the same bits; the dispatch
#    tests (every level's kernels bit for bit against the baseline's) and the
#    accuracy tests of every level's kernels (test_fastmath) pass.
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
  for variant in "$pkg"/_network_avx2.*.so "$pkg"/_network_avx512.*.so \
                 "$pkg"/_kernel_entries_avx2.*.so "$pkg"/_kernel_entries_avx512.*.so; do
    n=$(count_above "$variant")
    echo "$(basename "$variant"): $n wide instructions (expected: many)"
    [ "$n" -gt 100 ] || { echo "the ISA check does not see AVX code in $variant" >&2; exit 1; }
  done
  for module in "$pkg"/*.so; do
    case "$(basename "$module")" in
      _network_avx2.*|_network_avx512.*|_kernel_entries_avx2.*|_kernel_entries_avx512.*)
        continue ;;
    esac
    n=$(count_above "$module")
    echo "$(basename "$module"): $n instructions above baseline x86-64"
    [ "$n" -eq 0 ] || { echo "$module needs more than baseline x86-64" >&2; exit 1; }
  done
fi

# Every _fastmath helper (exp, log, tanh, Phi) inlined into the network's
# loops at every level (and into the test entry points' loops, so that the
# accuracy tests run the same vectorized code): an out-of-line call runs one
# value at a time. GCC stops inlining when the unit's budget runs out (see
# src/cymlp/meson.build).
# Before that fix this check counted 2 calls (logistic's exp) per module. It
# reads symbol names, so it first makes sure the modules still have them.
for module in "$pkg"/_network*.so "$pkg"/_kernel_entries*.so; do
  objdump -d --no-show-raw-insn "$module" > "$work/disassembly"
  grep -q '^[0-9a-f]* <__pyx_[a-z0-9]*_5cymlp_' "$work/disassembly" \
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
done
# The kernels of every level against the baseline's, in one process, and
# every level's accuracy on extreme inputs.
"$py" -m pytest -q -p no:cacheprovider "$root/tests/test_dispatch.py" \
  "$root/tests/test_fastmath.py"
# The same fits at every level: the same bits.
cut -d' ' -f2 "$work"/digest.* | sort -u | wc -l | grep -qx 1 \
  || { echo "the SIMD levels disagree:" >&2; cat "$work"/digest.* >&2; exit 1; }
echo "every level gives the same bits: $(cut -d' ' -f2 "$work/digest.baseline")"
