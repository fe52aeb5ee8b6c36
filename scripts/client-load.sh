#!/usr/bin/env bash
# The client API's load test: starts a local 4-validator cluster (scripts/cluster.sh), runs
# client-load against node 0 (idle WaitForCommit calls, block streams and state scans while
# valid transactions are committed, commit latency against an unloaded run, the node's peak
# RSS and threads), then stops the cluster. Figures depend on the machine: quote its load.
#
#   scripts/client-load.sh [--base-port P] [client-load flags...]
#   e.g. scripts/client-load.sh --waiters 10000 --streams 500 --scans 50 --big-submits 10
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${MC_BUILD_DIR:-$root/build}"
base_port=7800
if [ "${1:-}" = "--base-port" ]; then
  base_port="$2"
  shift 2
fi
if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 0
fi

dir="$(mktemp -d "${TMPDIR:-/tmp}/meterchain-client-load.XXXXXX")"
rmdir "$dir"
stop() {
  "$root/scripts/cluster.sh" down --dir "$dir" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT

"$root/scripts/cluster.sh" up --dir "$dir" --base-port "$base_port" >&2
address="$(sed -n 's/.*"client_listen": *"\([^"]*\)".*/\1/p' "$dir/node0/node.json" | head -n1)"
"$build_dir/node/tools/bench/client-load" --node "$address" --pid "$(cat "$dir/node0/pid")" "$@"
