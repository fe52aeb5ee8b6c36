#!/usr/bin/env bash
# Sets up and builds (scripts/setup.sh), then runs every test registered with CTest.
#   scripts/test.sh                 # all tests
#   scripts/test.sh -L unit         # extra arguments go to ctest
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${MC_BUILD_DIR:-$root/build}"

"$root/scripts/setup.sh"
echo "[test] running ctest in $build_dir"
cd "$build_dir"
ctest --output-on-failure --timeout 900 -j "$(nproc 2>/dev/null || echo 2)" "$@"
