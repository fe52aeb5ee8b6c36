#!/usr/bin/env bash
# The main job: installs what is missing, builds, starts a local 4-validator cluster (real
# processes, gRPC over mutual TLS, LevelDB), takes the sample meter data through the chain
# (Validity contract on every node) and prints the result, then stops the cluster.
#
#   scripts/demo.sh [--records N] [--keep]     (--keep leaves the cluster running)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${MC_BUILD_DIR:-$root/build}"
records=20
keep=0
while (($#)); do
  case "$1" in
    --records) records="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "demo.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

"$root/scripts/setup.sh"
dir="$(mktemp -d "${TMPDIR:-/tmp}/meterchain-demo.XXXXXX")"
rmdir "$dir"
stop() {
  if ((keep == 0)); then
    "$root/scripts/cluster.sh" down --dir "$dir" >/dev/null || true
    rm -rf "$dir"
  fi
}
trap stop EXIT

printf '[demo] starting a 4-validator cluster in %s\n' "$dir"
"$root/scripts/cluster.sh" up --nodes 4 --dir "$dir" --base-port "${MC_DEMO_PORT:-7700}"
"$build_dir/node/tools/meterctl" demo --dir "$dir" --data "$root/test/data" --records "$records"
if ((keep)); then
  printf '[demo] cluster left running: scripts/cluster.sh status|down --dir %s\n' "$dir"
fi
