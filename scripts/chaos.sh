#!/usr/bin/env bash
# Chaos run (not in CI): a 4-node cluster of real meterchaind processes under steady load;
# every 5-10 s a random node (the primary half the time) gets kill -9 or SIGTERM and is
# restarted 1-4 s later. At the end: every submitted transaction committed exactly once, all
# nodes identical at every height, the longest stall, the slowest graceful stop, and how soon
# each restarted node signed commit certificates again. Exit code 0 when every check passed.
#
#   scripts/chaos.sh [--minutes M] [--rate TX_PER_S] [--seed S]   (defaults: 10 min, 50 tx/s)
#
# The cluster lives in a temporary directory and every process is cleaned up at the end (also
# on Ctrl-C: the faults stop, the checks still run). See docs/RELIABILITY.md for recorded runs.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${MC_BUILD_DIR:-$root/build}"
case "${1:-}" in
  -h|--help) sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
if [ ! -d "$build_dir" ]; then
  "$root/scripts/setup.sh" >/dev/null
fi
nice -n 5 cmake --build "$build_dir" -j2 --target chaos_run meterchaind >/dev/null
exec "$build_dir/test/e2e/chaos_run" "$@"
