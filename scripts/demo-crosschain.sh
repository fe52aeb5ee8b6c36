#!/usr/bin/env bash
# Three levels of chains on this machine (docs/CROSSCHAIN.md): the Tianjin provincial chain
# (4 validators), the State Grid main chain and the Energy Metrology Alliance chain (one
# validator each, meterchaind with their own genesis), a relay per level, the sample data
# taken through the provincial chain, and a proof of one verification result that is then
# checked offline against the three chains' validator keys.
#
#   scripts/demo-crosschain.sh [--base-port P] [--keep] [--no-build]
#     --keep leaves everything running; --no-build uses the binaries in build/ as they are
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${MC_BUILD_DIR:-$root/build}"
meterctl="$build_dir/node/tools/meterctl"
meterrelay="$build_dir/crosschain/meterrelay"
base_port="${MC_DEMO_PORT:-7700}"
keep=0
build=1
while (($#)); do
  case "$1" in
    --base-port) base_port="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    --no-build) build=0; shift ;;
    *) echo "demo-crosschain.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

((build == 0)) || "$root/scripts/setup.sh" >/dev/null
dir="$(mktemp -d "${TMPDIR:-/tmp}/meterchain-crosschain.XXXXXX")"
say() { printf '\n[crosschain] %s\n' "$*"; }

stop() {
  if ((keep == 0)); then
    for f in "$dir"/relay-*.pid; do
      [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
    done
    for level in province main alliance; do
      "$root/scripts/cluster.sh" down --dir "$dir/$level" >/dev/null 2>&1 || true
    done
    rm -rf "$dir"
  fi
}
trap stop EXIT

say "initialising three chains in $dir"
"$meterctl" init-cluster --nodes 4 --out "$dir/province" --base-port "$base_port" \
  --chain-id tianjin-meter-1 --genesis "$root/deploy/genesis.json" >/dev/null
"$meterctl" init-cluster --nodes 1 --out "$dir/main" --base-port $((base_port + 20)) \
  --chain-id stategrid-main-1 --genesis "$root/deploy/genesis-main.json" --names stategrid >/dev/null
"$meterctl" init-cluster --nodes 1 --out "$dir/alliance" --base-port $((base_port + 30)) \
  --chain-id metrology-alliance-1 --genesis "$root/deploy/genesis-alliance.json" \
  --names alliance >/dev/null
for level in province main alliance; do
  "$root/scripts/cluster.sh" up --dir "$dir/$level" | sed "s/^/  [$level] /"
done
province="127.0.0.1:$((base_port + 1))"
main="127.0.0.1:$((base_port + 21))"
alliance="127.0.0.1:$((base_port + 31))"

say "registering each chain on the one above (governance proposal of the upper chain)"
"$meterctl" anchor-register --node "$main" --key-file "$dir/main/node0/sm2.key" \
  --lower-config "$dir/province/node0/node.json" --description "Tianjin provincial side chain"
"$meterctl" anchor-register --node "$alliance" --key-file "$dir/alliance/node0/sm2.key" \
  --lower-config "$dir/main/node0/node.json" --description "State Grid main chain"

say "starting the relays (province -> main chain, main chain -> alliance chain)"
start_relay() {  # name sources upper
  "$meterctl" keygen --out "$dir/$1.key" >/dev/null
  printf '{"sourceNodes": [%s], "upperNodes": ["%s"], "keyFile": "%s", "name": "%s"}\n' \
    "$2" "$3" "$dir/$1.key" "$1" >"$dir/$1.json"
  nohup "$meterrelay" --config "$dir/$1.json" </dev/null >>"$dir/$1.log" 2>&1 &
  echo $! >"$dir/$1.pid"
  echo "  $1 (pid $(cat "$dir/$1.pid"), log $dir/$1.log)"
}
start_relay relay-province \
  "\"$province\", \"127.0.0.1:$((base_port + 3))\", \"127.0.0.1:$((base_port + 5))\"" "$main"
start_relay relay-main "\"$main\"" "$alliance"

say "taking the sample data through the provincial chain"
out="$("$meterctl" demo --dir "$dir/province" --data "$root/test/data" --records 5)"
printf '%s\n' "$out"
tx="$(printf '%s\n' "$out" | sed -n 's/^verification results transaction \([0-9a-f]*\)$/\1/p')"
[ -n "$tx" ] || { echo "demo-crosschain.sh: no verification result transaction" >&2; exit 1; }

say "proof of the verification results (tx $tx) through both upper chains"
"$meterctl" prove --tx "$tx" --node "$province" --upper "$main,$alliance" --out "$dir/proof.bin"
"$meterctl" trust --configs "$dir/province/node0/node.json,$dir/main/node0/node.json,$dir/alliance/node0/node.json" \
  --out "$dir/trust.json"

say "anchoring seen from the upper chains (ARCH-3 portals)"
echo "  State Grid main chain ($main):"
"$meterctl" anchor-status --node "$main" | sed 's/^/    /'
echo "  Energy Metrology Alliance chain ($alliance):"
"$meterctl" anchor-status --node "$alliance" | sed 's/^/    /'
echo "  the anchored header of the block holding the verification results, from the main chain:"
height="$("$meterctl" get-tx --node "$province" --hash "$tx" | sed -n 's/.* height=\([0-9]*\).*/\1/p')"
"$meterctl" anchor-status --node "$main" --chain tianjin-meter-1 --height "$height" | sed 's/^/    /'
echo "  last relay lines:"
grep -h 'msg="anchored"' "$dir"/relay-*.log | tail -n 2 | sed 's/^/    /'

say "verifying the proof offline, with only the validators' public keys ($dir/trust.json)"
"$meterctl" verify-proof "$dir/proof.bin" --trust "$dir/trust.json"
if ((keep)); then
  say "left running in $dir (relay pids in $dir/relay-*.pid; scripts/cluster.sh down --dir $dir/<level>)"
fi
