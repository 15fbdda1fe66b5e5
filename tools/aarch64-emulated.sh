#!/usr/bin/env bash
# Build cymlp for aarch64 on an x86-64 Debian machine and test it there under
# user-mode emulation: no aarch64 machine, and the host's binfmt settings
# (which would hand foreign binaries to an emulator) stay untouched.
#
# - Debian's gcc-aarch64-linux-gnu cross-compiles the wheel (the meson cross
#   file is written below), with -Wall -Wextra as errors.
# - qemu-aarch64-static, unpacked from Debian's qemu-user-static (not
#   installed: its install script registers binfmt handlers), runs Debian's
#   arm64 CPython 3.11, unpacked into a directory (`qemu -L DIR`) from
#   packages downloaded with a private apt state (the host's dpkg keeps its
#   architectures). The emulated CPU is a Neoverse N1 (NEON, no SVE, like an
#   AWS Graviton2): qemu's default CPU adds SVE, and OpenBLAS's SVE kernels
#   took 3x longer to emulate.
# - pip installs PyPI's manylinux aarch64 wheels of cymlp's dependencies and
#   of the test tools into that directory (--platform, --target).
#
# Before the tests it checks what must hold on aarch64: every module is an
# AArch64 ELF; only the baseline network is built (no AVX variant), the CPU
# check is compiled without its x86 code and the dispatch chooses, loads and
# reports baseline alone (and refuses CYMLP_SIMD=avx2); no elementwise
# helper is called out of line; no fused multiply-add (fmadd/fmla) is
# compiled in; OpenMP is built in and n_jobs=1 and 2 give the same bits
# (the arm64 libgomp1 is unpacked beside the interpreter). Tests that start a subprocess cannot run (a child would be an
# aarch64 executable that the host, without binfmt, cannot start): deselect
# them; the checks here stand in for tests/test_dispatch.py's three.
#
# Usage: tools/aarch64-emulated.sh [PYTEST ARGUMENT...]
#   The arguments go to pytest, run from the work directory under emulation
#   (test paths relative to the checkout, e.g. tests/test_extras.py); with
#   none, only the build and the checks run. The work directory is
#   $CYMLP_AARCH64_DIR (default: build/aarch64 in the checkout); the Debian
#   packages, qemu and the host's build tools are reused from an earlier run,
#   the wheel and its site directory are made anew. As root, or with sudo
#   for apt-get (the cross compiler); about 800 MB in the work directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/.ci/lib/apt.sh"
source "$root/.ci/lib/kernel-checks.sh"

work=${CYMLP_AARCH64_DIR:-$root/build/aarch64}
mkdir -p "$work"
work=$(cd "$work" && pwd)
log="$work/log"
mkdir -p "$log"
sysroot="$work/sysroot"
qemu="$work/qemu/usr/bin/qemu-aarch64-static"
export QEMU_CPU=neoverse-n1
step() { echo "+ aarch64: $* ($((SECONDS - t0)) s)"; }
t0=$SECONDS

# The cross compiler and its C library (a recommendation only, so named).
command -v aarch64-linux-gnu-gcc > /dev/null && [ -d /usr/aarch64-linux-gnu/include ] \
  || apt_install gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu pkg-config
step "cross compiler: $(aarch64-linux-gnu-gcc --version | head -n 1)"

# apt-get download writes where it runs; as root it warns that its sandbox
# user cannot write there, unless told to stay root.
download() {   # download [apt option...] PACKAGE...: .deb files into the current directory
  local sandbox=()
  [ "$(id -u)" -ne 0 ] || sandbox=(-o APT::Sandbox::User=root)
  apt-get -q "${sandbox[@]}" download "$@" > "$log/download.log" 2>&1 \
    || { tail -n 20 "$log/download.log"; exit 1; }
}

if [ ! -x "$qemu" ]; then
  mkdir -p "$work/qemu/deb"
  (cd "$work/qemu/deb" && download qemu-user-static \
     && dpkg-deb --fsys-tarfile qemu-user-static_*.deb \
        | tar -x -C "$work/qemu" ./usr/bin/qemu-aarch64-static && rm qemu-user-static_*.deb)
fi
step "emulator: $("$qemu" --version | head -n 1)"

# Debian's arm64 CPython 3.11 and the libraries it and the wheels load,
# resolved from Debian's arm64 package lists in a private apt state.
if [ ! -x "$sysroot/usr/bin/python3.11" ]; then
  apt_state="$work/apt"
  mkdir -p "$apt_state/lists/partial" "$apt_state/cache/archives/partial" "$apt_state/debs"
  arm64=(-o Dir::State::Lists="$apt_state/lists" -o Dir::Cache="$apt_state/cache"
         -o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o Debug::NoLocking=1)
  apt-get -q "${arm64[@]}" update > "$log/apt-update.log" 2>&1 \
    || { tail -n 20 "$log/apt-update.log"; exit 1; }
  # Libraries and the interpreter only: not dpkg, perl or mime-support,
  # which the interpreter's package names for its tools.
  packages=$(apt-cache "${arm64[@]}" depends --recurse --no-recommends --no-suggests \
               --no-conflicts --no-breaks --no-replaces --no-enhances python3.11 libstdc++6 \
             | grep -E '^(lib[a-z0-9.+-]+|python3\.11(-minimal)?|zlib1g)$' | grep -v '^libperl' | sort -u)
  # libpython3-dev: the headers and the python3.pc the cross build compiles
  # against; libgomp1: the OpenMP runtime the kernels link (n_jobs)
  (cd "$apt_state/debs" && download "${arm64[@]}" $packages libgomp1 libpython3.11-dev \
     libpython3-dev)
  for deb in "$apt_state"/debs/*.deb; do dpkg-deb -x "$deb" "$sysroot"; done
fi
cat > "$work/python3.11" <<EOF
#!/bin/sh
exec "$qemu" -L "$sysroot" "$sysroot/usr/bin/python3.11" "\$@"
EOF
chmod +x "$work/python3.11"
py="$work/python3.11"
step "emulated $("$py" -c 'import platform, sys; print(platform.machine(), "CPython", sys.version.split()[0])')"

# The host's build tools: pyproject.toml's build requirements, in a venv.
if [ ! -x "$work/host/bin/meson" ]; then
  python3 -m venv "$work/host"
  python3 - "$root/pyproject.toml" > "$work/build-requires.txt" <<'PY'
import sys
import tomllib

print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["build-system"]["requires"]))
PY
  "$work/host/bin/pip" install -r "$work/build-requires.txt" > "$log/host-pip.log" 2>&1 \
    || { tail -n 40 "$log/host-pip.log"; exit 1; }
fi

cat > "$work/cross.ini" <<EOF
[binaries]
c = 'aarch64-linux-gnu-gcc'
ar = 'aarch64-linux-gnu-gcc-ar'
strip = 'aarch64-linux-gnu-strip'
pkg-config = 'pkg-config'
python = '$py'

[host_machine]
system = 'linux'
cpu_family = 'aarch64'
cpu = 'aarch64'
endian = 'little'

[properties]
sys_root = '$sysroot'
pkg_config_libdir = '$sysroot/usr/lib/aarch64-linux-gnu/pkgconfig'

[built-in options]
# Debian's pyconfig.h includes <aarch64-linux-gnu/python3.11/pyconfig.h>
c_args = ['-idirafter', '$sysroot/usr/include']
EOF

# The wheel, tagged for aarch64 (meson-python reads the platform tag from
# _PYTHON_HOST_PLATFORM), built by the host's tools with the cross compiler.
rm -rf "$work/dist" "$work/build-wheel" "$work/site"
PATH="$work/host/bin:$PATH" _PYTHON_HOST_PLATFORM=linux-aarch64 \
  "$work/host/bin/pip" wheel -v --no-build-isolation --no-deps -w "$work/dist" "$root" \
  -Csetup-args=--cross-file="$work/cross.ini" -Csetup-args=-Dwarning_level=2 \
  -Csetup-args=-Dwerror=true -Cbuild-dir="$work/build-wheel" -Ccompile-args=-v \
  > "$log/wheel.log" 2>&1 || { grep -E "(warning|error):" "$log/wheel.log" | head -n 40
                               tail -n 40 "$log/wheel.log"; exit 1; }
wheel=$(ls "$work"/dist/cymlp-*-cp311-cp311-linux_aarch64.whl)
grep -E -- " -c [^ ]*\.pyx\.c" "$log/wheel.log" > "$log/compile.txt"
[ "$(wc -l < "$log/compile.txt")" -ge 8 ] || { echo "no compile commands in the log" >&2; exit 1; }
if grep -vE "^ *(\[[0-9]+/[0-9]+\] )?aarch64-linux-gnu-gcc .* -ffp-contract=off" "$log/compile.txt"; then
  echo "a kernel was not compiled by aarch64-linux-gnu-gcc with -ffp-contract=off" >&2; exit 1
fi
if grep -E -- "-m(avx|fma|bmi|sse)|-march" "$log/compile.txt"; then
  echo "an x86 flag reached the aarch64 build" >&2; exit 1
fi
step "built $(basename "$wheel")"

# Its dependencies and the test tools, as the test extra pins them.
python3 - "$root/pyproject.toml" > "$work/requirements.txt" <<'PY'
import re
import sys
import tomllib

project = tomllib.load(open(sys.argv[1], "rb"))["project"]
test_tools = [r for r in project["optional-dependencies"]["test"]
              if re.match(r"(pytest|hypothesis|pandas)\b", r)]
print("\n".join(project["dependencies"] + test_tools))
PY
target=(--target "$work/site" --python-version 3.11 --implementation cp --abi cp311
        --only-binary=:all:)
python3 -m pip install "${target[@]}" --platform manylinux_2_28_aarch64 \
  --platform manylinux2014_aarch64 -r "$work/requirements.txt" > "$log/site-pip.log" 2>&1 \
  || { grep -v "^WARNING: Location" "$log/site-pip.log" | tail -n 40; exit 1; }
python3 -m pip install "${target[@]}" --platform linux_aarch64 --no-deps "$wheel" \
  > "$log/wheel-pip.log" 2>&1 || { tail -n 20 "$log/wheel-pip.log"; exit 1; }
export PYTHONPATH="$work/site"
pkg="$work/site/cymlp"
step "installed with $(cd "$work/site" && ls -d numpy-* scipy-* scikit_learn-* | sed 's/.dist-info//' | paste -sd ' ')"

# No x86 code: AArch64 modules only, no AVX variant, no use of the x86 CPU
# model that __builtin_cpu_supports reads.
for module in "$pkg"/*.so; do
  readelf -h "$module" | grep -qE "Machine: +AArch64" \
    || { echo "$module is not an AArch64 module" >&2; exit 1; }
  if readelf --dyn-syms -W "$module" | grep -E "__cpu_(model|indicator_init|features)"; then
    echo "$module holds x86 CPU detection" >&2; exit 1
  fi
done
modules=$(cd "$pkg" && ls _network*.so)
[ "$modules" = _network.cpython-311-aarch64-linux-gnu.so ] \
  || { echo "network modules other than the baseline one: $modules" >&2; exit 1; }
step "$(ls "$pkg"/*.so | wc -l) AArch64 modules, one network module"
OBJDUMP=aarch64-linux-gnu-objdump CC=aarch64-linux-gnu-gcc check_inlined "$work" "$pkg"
OBJDUMP=aarch64-linux-gnu-objdump CC=aarch64-linux-gnu-gcc check_no_fma "$work" "$pkg"

# The dispatch: baseline built, run, chosen, and alone imported; the report says so.
cd "$work"   # import the installed cymlp, not the checkout
"$py" - <<'PY'
import sys

import cymlp
from cymlp import _cpu, _dispatch

assert not _cpu.is_x86_64()
assert _cpu.cpu_levels() == ("baseline",), _cpu.cpu_levels()
assert _dispatch.built_levels() == _dispatch.available_levels() == ("baseline",)
assert _dispatch.LEVEL == "baseline"
assert [m for m in sys.modules if m.startswith("cymlp._network")] == ["cymlp._network"]
PY
"$py" -m cymlp info > "$log/info.txt"
for line in "chosen +baseline" "cpu runs +baseline" "built +baseline" \
            "compiler +gcc [0-9]" "cpu family +aarch64"; do
  grep -qE "^  $line" "$log/info.txt" \
    || { cat "$log/info.txt"; echo "show_config() lacks '$line'" >&2; exit 1; }
done
for level in avx2 sse9; do
  if CYMLP_SIMD=$level "$py" -c "import cymlp" 2> "$log/refused.txt"; then
    echo "CYMLP_SIMD=$level was not refused" >&2; exit 1
  fi
  grep -qE "no 'avx2' kernels|'sse9' is not a SIMD level" "$log/refused.txt" \
    || { cat "$log/refused.txt"; exit 1; }
done
step "dispatch: baseline only, CYMLP_SIMD=avx2 and sse9 refused"

# n_jobs: the build has OpenMP (libgomp), and the data-parallel fits give
# the same bits on one thread and on two (tests/test_n_jobs.py's digest).
"$py" -c "from cymlp import _build_config, _openmp
assert _build_config.OPENMP and _openmp.openmp_enabled()" \
  || { echo "the aarch64 build has no OpenMP" >&2; exit 1; }
one=$("$py" "$root/tests/test_n_jobs.py" 1 | cut -d' ' -f2)
two=$("$py" "$root/tests/test_n_jobs.py" 2 | cut -d' ' -f2)
[ -n "$one" ] && [ "$one" = "$two" ] \
  || { echo "n_jobs=1 and n_jobs=2 differ under emulation: $one, $two" >&2; exit 1; }
step "n_jobs: OpenMP built in; n_jobs=1 and 2 give the same bits ($one)"

if [ $# -gt 0 ]; then
  start=$SECONDS
  (cd "$root" && "$py" -m pytest -p no:cacheprovider -q -ra "$@")
  step "pytest: $((SECONDS - start)) s"
fi
