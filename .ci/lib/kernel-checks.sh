# Checks on an installed cymlp's compiled kernels, shared by the CI steps
# that build cymlp in another way (sourced, not run: .ci/run runs only
# .ci/steps/*.sh). Each function exits the step with a message on failure.
#
#   check_isa PKG             x86-64: only _network_avx2/_network_avx512 and their
#                             _kernel_entries twins hold instructions above
#                             baseline x86-64
#   check_inlined WORK PKG    no network or kernel-entries module calls an
#                             elementwise helper out of line
#   check_no_fma WORK PKG     no module holds a fused multiply-add
#   check_same_bits PY ROOT WORK [TEST...]
#                             every SIMD level the machine runs: the dispatch
#                             loads that level alone, TESTs pass, the same bits
#                             (n_jobs=None's fits, and the data-parallel path's)
#                             (n_jobs=None's fits, and n_jobs=2's)
#
# The disassembly is read with $OBJDUMP (default objdump; a cross build sets
# the target's), and the planted examples that prove a check can fail are
# compiled with $CC (default cc) and $PLANT_CFLAGS.

OBJDUMP=${OBJDUMP:-objdump}
CC=${CC:-cc}
PLANT_CFLAGS=${PLANT_CFLAGS:-}

disassemble() {   # objdump's disassembly of the ELF file $1, mnemonics only
  "$OBJDUMP" -d --no-show-raw-insn "$1"
}

# Instructions above baseline x86-64, as objdump spells them (tzcnt is left
# out: gcc's baseline ctz is `rep bsf`, which objdump prints as tzcnt).
above='^(v[a-z0-9]+|lddqu|h(add|sub)p[sd]|addsubp[sd]|mov(ddup|shdup|sldup)|pshufb'
above+='|palignr|pabs[bwd]|ph(add|sub)s?[wd]|pmulhrsw|psign[bwd]|p?blendv?(p[sd]|b|w)'
above+='|dpp[sd]|insertps|extractps|pextr[bdq]|pinsr[bdq]|pm(ax|in)(s[bd]|u[wd])'
above+='|pmul(dq|ld)|round[sp][sd]|ptest|packusdw|pcmp(eq|gt)q|pmov[sz]x[a-z]+|movntdqa'
above+='|mpsadbw|phminposuw|pcmp[ei]str[im]|crc32[a-z]*|popcnt|lzcnt|andn|bextr'
above+='|bls(i|msk|r)|bzhi|mulx|pdep|pext|rorx|sarx|shlx|shrx|movbe)$'

count_insns() {   # instructions of the ELF file $2 whose mnemonic matches the ERE $1
                  # (or, given an ERE $3, whose operands match it)
  disassemble "$2" | awk -F'\t' -v re="$1" -v ops="${3:-}" '
    NF >= 2 {
      n = split($2, w, " "); i = 1
      while (i < n && w[i] ~ /^(rep[a-z]*|lock|notrack|bnd|data16|addr32|cs|ds)$/) i++
      if (w[i] ~ re || (ops != "" && $2 ~ ops)) c++
    }
    END { print c + 0 }'
}

count_above() {   # above-baseline x86-64 instructions in the ELF file $1
  count_insns "$above" "$1" '%[yz]mm|%k[0-7]'
}

# 1. On x86-64, no installed module holds an instruction above baseline
#    x86-64 (SSE2) except the dispatch variants (disassembled: ymm/zmm/mask
#    registers, VEX/EVEX-encoded instructions, SSE3..SSE4.2, POPCNT, BMI,
#    MOVBE). The check is first run on the variants, where it must fail, so
#    a check that cannot fail fails.
check_isa() {
  local pkg=$1 variant module n
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
}

# 2. Every elementwise helper of the .pxd files (_fastmath's exp, log, tanh,
#    Phi; the activations, losses, optimizer steps, extras, row loops) is
#    inlined into the network's loops at every level (and into the test entry
#    points' loops, so that the accuracy tests run the same vectorized code):
#    an out-of-line call runs one value at a time. GCC stops inlining when the unit's budget runs
#    out, clang when a helper's cost passes its threshold (see
#    src/cymlp/meson.build and _activations.pxd's gelu_rows). It reads symbol
#    names (the same with GCC and clang: Cython's, plus GCC's .isra/.part
#    suffixes), so it makes sure the modules still have them, and first finds
#    the call in a planted object built with $CC, where one is made on purpose.
helpers='__pyx_f_5cymlp_[0-9]+_(fastmath|activations|losses|optimizers|layer_extras|rowops)_'
count_helper_calls() {   # direct calls or tail jumps to a helper's entry (<name>, not
                         # <name+0x..>); an indirect call through a module's import
                         # table (`call *0x..(%rip) # .. <name>`) reaches another
                         # module's exported cdef function, never an inline helper
  grep -Ec "\s(call|jmp|bl|b)\s+[0-9a-f]+ <${helpers}[^>+]*>$" "$1" || true
}
check_inlined() {
  local work=$1 pkg=$2 module n
  cat > "$work/planted.c" <<'EOF'
static __attribute__((noinline)) double __pyx_f_5cymlp_9_fastmath_exp_inline(double x) {
  return x * x + 1.0;
}
void planted_loop(double *v, long n) {
  for (long i = 0; i < n; i++) v[i] = __pyx_f_5cymlp_9_fastmath_exp_inline(v[i]);
}
EOF
  $CC -O2 -c $PLANT_CFLAGS "$work/planted.c" -o "$work/planted.o"
  disassemble "$work/planted.o" > "$work/disassembly"
  n=$(count_helper_calls "$work/disassembly")
  [ "$n" -ge 1 ] || { echo "the inlining check does not see a planted out-of-line call" >&2; exit 1; }
  for module in "$pkg"/_network*.so "$pkg"/_kernel_entries*.so; do
    disassemble "$module" > "$work/disassembly"
    grep -q '^[0-9a-f]* <__pyx_[a-z0-9]*_5cymlp_' "$work/disassembly" \
      || { echo "$module has no symbols: cannot check the inlining" >&2; exit 1; }
    n=$(count_helper_calls "$work/disassembly")
    echo "$(basename "$module"): $n out-of-line calls to elementwise helpers"
    [ "$n" -eq 0 ] || { echo "$module calls an elementwise helper out of line:" >&2
                        grep -E "\s(call|jmp|bl|b)\s+[0-9a-f]+ <${helpers}" "$work/disassembly" >&2
                        exit 1; }
  done
}

# 3. -ffp-contract=off reached the compiler: no module holds a fused
#    multiply-add (x86-64: vfmadd/vfmsub/vfnmadd/vfnmsub...; aarch64:
#    fmadd/fmsub/fnmadd/fnmsub, fmla/fmls), which would round once where
#    the baseline rounds twice. First proven on a planted a * b + c built
#    with $CC -ffp-contract=fast (and -mfma on x86-64).
check_no_fma() {
  local work=$1 pkg=$2 fma module n flags=""
  case "$("$OBJDUMP" -f "$pkg"/_network.*.so | sed -n 's/.*file format //p')" in
    *x86-64*) fma='^vfn?m(add|sub)'; flags=-mfma ;;
    *aarch64*) fma='^(fn?m(add|sub)|fml[as])$' ;;
    *) echo "check_no_fma: unknown architecture" >&2; exit 1 ;;
  esac
  echo 'double f(double a, double b, double c) { return a * b + c; }' > "$work/fma.c"
  $CC -O2 -c -ffp-contract=fast $flags $PLANT_CFLAGS "$work/fma.c" -o "$work/fma.o"
  n=$(count_insns "$fma" "$work/fma.o")
  [ "$n" -ge 1 ] || { echo "the FMA check does not see a planted FMA" >&2; exit 1; }
  for module in "$pkg"/*.so; do
    n=$(count_insns "$fma" "$module")
    [ "$n" -eq 0 ] || { echo "$module holds $n fused multiply-adds" >&2; exit 1; }
  done
  echo "no fused multiply-add in any module"
}

# 4. At every SIMD level this machine runs (CYMLP_SIMD=...), the dispatch
#    loads that level's module alone, the TESTs pass, and a set of fits gives
#    the same bits: n_jobs=None's (tests/test_dispatch.py run as a script,
#    digests in WORK/digest.LEVEL) and the data-parallel path's with n_jobs=2
#    (tests/test_n_jobs.py run as a script, WORK/parallel.LEVEL).
check_same_bits() {
  local py=$1 root=$2 work=$3 level levels
  shift 3
  levels=$("$py" -c "from cymlp._dispatch import available_levels; print(*available_levels())")
  echo "SIMD levels this machine runs: $levels"
  rm -f "$work"/digest.* "$work"/parallel.*
  for level in $levels; do
    echo "+ CYMLP_SIMD=$level"
    CYMLP_SIMD=$level "$py" -c "import cymlp, sys
assert cymlp._dispatch.LEVEL == '$level'
assert [m for m in sys.modules if m.startswith('cymlp._network')] == ['cymlp.' + cymlp._dispatch.MODULES['$level']]"
    if [ $# -gt 0 ]; then
      CYMLP_SIMD=$level "$py" -m pytest -q -p no:cacheprovider "$@"
    fi
    CYMLP_SIMD=$level "$py" "$root/tests/test_dispatch.py" > "$work/digest.$level"
    CYMLP_SIMD=$level "$py" "$root/tests/test_n_jobs.py" 2 > "$work/parallel.$level"
  done
  cut -d' ' -f2 "$work"/digest.* | sort -u | wc -l | grep -qx 1 \
    || { echo "the SIMD levels disagree:" >&2; cat "$work"/digest.* >&2; exit 1; }
  echo "every level gives the same bits: $(cut -d' ' -f2 "$work/digest.baseline")"
  cut -d' ' -f2 "$work"/parallel.* | sort -u | wc -l | grep -qx 1 \
    || { echo "the SIMD levels disagree on n_jobs=2:" >&2; cat "$work"/parallel.* >&2; exit 1; }
  echo "n_jobs=2: every level gives the same bits: $(cut -d' ' -f2 "$work/parallel.baseline")"
}
