#!/usr/bin/env bash
# pyproject.toml's [tool.cibuildwheel] section cannot build here (no Docker,
# macOS or Windows), but it must stay valid and select the intended wheels:
# cibuildwheel rejects unknown options, and the builds it prints for each
# platform must be exactly CPython 3.11-3.14 (GIL) on manylinux x86_64 and
# aarch64, macOS x86_64 and arm64 (no universal2), Windows AMD64.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install cibuildwheel > "$work/pip.log" 2>&1 || { tail -n 40 "$work/pip.log"; exit 1; }
for platform in linux macos windows; do
  "$work/venv/bin/cibuildwheel" --print-build-identifiers --platform "$platform" "$root"
done | sort > "$work/builds.txt"
for py in cp311 cp312 cp313 cp314; do
  for tag in manylinux_x86_64 manylinux_aarch64 macosx_x86_64 macosx_arm64 win_amd64; do
    echo "$py-$tag"
  done
done | sort > "$work/expected.txt"
diff -u "$work/expected.txt" "$work/builds.txt" || { echo "cibuildwheel selects other builds" >&2; exit 1; }
echo "cibuildwheel: $(wc -l < "$work/builds.txt") builds"
