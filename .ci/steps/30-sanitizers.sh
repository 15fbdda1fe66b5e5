#!/usr/bin/env bash
# Build the kernels once more with AddressSanitizer and UndefinedBehaviorSanitizer
# (meson's b_sanitize=address,undefined, -fno-sanitize-recover=all at compile
# AND link, so any report aborts the process) and run the kernel, boundary,
# extras, shuffle and fuzz tests and the data-parallel path's (n_jobs: row
# blocks on OpenMP threads, tests/test_n_jobs.py) against that build. Fails on
# any report.
#
# ASan sees the raw-pointer reads and writes of the C kernels into heap
# buffers (numpy's and the Workspace's malloc'd ones); UBSan sees shifts out
# of range, signed overflow, misaligned or null pointer use. The step first proves
# the instrumentation is there (the .so files link libasan and libubsan, the
# flags reached the compiler, the preloaded runtime reports an overrun),
# so it cannot pass silently on an uninstrumented build.
#
# Python itself is not built with ASan: the runtime is preloaded, and leak
# detection is off (the interpreter leaks at exit by design). pytest runs with
# -s: a sanitizer report goes to fd 2 and then aborts, so it must not be
# captured (and the fuzzers' faulthandler needs a real stderr).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

asan_venv=$(mktemp -d)/venv-asan
python3 -m venv "$asan_venv"
"$asan_venv/bin/pip" install -v "$root[test]" \
  -Csetup-args=-Db_sanitize=address,undefined \
  -Csetup-args=-Dc_args=-fno-sanitize-recover=all \
  -Csetup-args=-Dc_link_args=-fno-sanitize-recover=all \
  -Csetup-args=-Db_lundef=false \
  -Ccompile-args=-v > "$asan_venv.log" 2>&1 || { tail -n 60 "$asan_venv.log"; exit 1; }

# The flags reached the kernels' compile and link commands (ninja -v prints them).
for flag in -fsanitize=address,undefined -fno-sanitize-recover=all; do
  for what in "-c [^ ]*_network\.pyx\.c" "-o [^ ]*_network[^ ]*\.so "; do
    grep -E -- "$what" "$asan_venv.log" | grep -q -- "$flag" \
      || { echo "$flag did not reach the command matching '$what'" >&2; exit 1; }
  done
done

site=$("$asan_venv/bin/python" -c 'import sysconfig; print(sysconfig.get_path("platlib"))')
for so in "$site"/cymlp/_*.so; do
  needed=$(readelf -d "$so" | grep NEEDED)
  for lib in libasan libubsan; do
    grep -q "$lib" <<<"$needed" \
      || { echo "$so does not link $lib: not a sanitizer build" >&2; exit 1; }
  done
done

export LD_PRELOAD
LD_PRELOAD=$(gcc -print-file-name=libasan.so)
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

cd "$(dirname "$asan_venv")"   # import the installed sanitizer build, not the checkout

# The preloaded runtime is live: a one-byte overrun of a malloc'd buffer aborts.
if "$asan_venv/bin/python" - <<'EOF' 2>/dev/null
import ctypes
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
src = libc.malloc(8)
dst = ctypes.create_string_buffer(16)
ctypes.memmove(dst, src, 9)   # memmove is intercepted by ASan: reads 1 byte too many
EOF
then
  echo "ASan did not report a planted heap overrun: the runtime is not active" >&2
  exit 1
fi

"$asan_venv/bin/python" -m pytest -p no:cacheprovider -q -s \
  "$root/tests/test_kernels.py" "$root/tests/test_boundary.py" \
  "$root/tests/test_shuffle.py" "$root/tests/test_extras.py" \
  "$root/tests/test_fuzz.py" "$root/tests/test_n_jobs.py"
