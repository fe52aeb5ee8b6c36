#!/usr/bin/env bash
# A local meterchain cluster on loopback ports, no Docker needed (OPS-1).
#
#   scripts/cluster.sh up     [--nodes N] [--dir DIR] [--base-port P]
#                             [--chain-id ID --genesis FILE --names A,B,..]   (an upper chain)
#   scripts/cluster.sh status [--dir DIR]
#   scripts/cluster.sh down   [--dir DIR]
#
# `up` generates keys, TLS certificates, configs and the genesis on first use (meterctl
# init-cluster with deploy/genesis.json), starts one meterchaind per node in the background
# (logs in DIR/node<i>/meterchaind.log) and waits until every node answers. Defaults:
# 4 nodes, DIR=build/cluster (a build output, never committed), base port 7700
# (node i: peers P+2i, clients P+2i+1).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${MC_BUILD_DIR:-$root/build}"
meterctl="$build_dir/node/tools/meterctl"
meterchaind="$build_dir/node/daemon/meterchaind"
cmd="${1:-}"
shift || true
nodes=4
dir="$build_dir/cluster"
base_port=7700
init_extra=()
genesis="$root/deploy/genesis.json"
while (($#)); do
  case "$1" in
    --nodes) nodes="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --base-port) base_port="$2"; shift 2 ;;
    --chain-id) init_extra+=(--chain-id "$2"); shift 2 ;;
    --names) init_extra+=(--names "$2"); shift 2 ;;
    --genesis) genesis="$2"; shift 2 ;;
    *) echo "cluster.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

say() { printf '[cluster] %s\n' "$*"; }

node_dirs() { find "$dir" -maxdepth 1 -type d -name 'node*' 2>/dev/null | sort -V; }

client_addr() {
  sed -n 's/.*"client_listen": *"\([^"]*\)".*/\1/p' "$1/node.json" | head -n1
}

up() {
  [ -x "$meterchaind" ] && [ -x "$meterctl" ] || {
    echo "cluster.sh: binaries missing in $build_dir; run scripts/setup.sh first" >&2
    exit 1
  }
  if [ ! -f "$dir/ca.pem" ]; then
    say "initialising $nodes nodes in $dir"
    "$meterctl" init-cluster --nodes "$nodes" --out "$dir" --base-port "$base_port" \
      --genesis "$genesis" "${init_extra[@]}"
  fi
  for d in $(node_dirs); do
    if [ -f "$d/pid" ] && kill -0 "$(cat "$d/pid")" 2>/dev/null; then
      say "$(basename "$d") already running (pid $(cat "$d/pid"))"
      continue
    fi
    nohup "$meterchaind" --config "$d/node.json" </dev/null >>"$d/meterchaind.log" 2>&1 &
    echo $! >"$d/pid"
    say "started $(basename "$d") (pid $(cat "$d/pid"), log $d/meterchaind.log)"
  done
  for d in $(node_dirs); do
    local addr deadline
    addr="$(client_addr "$d")"
    deadline=$((SECONDS + 30))
    until "$meterctl" status --node "$addr" >/dev/null 2>&1; do
      if ! kill -0 "$(cat "$d/pid")" 2>/dev/null; then
        echo "cluster.sh: $(basename "$d") exited; last log lines:" >&2
        tail -n 20 "$d/meterchaind.log" >&2
        exit 1
      fi
      ((SECONDS < deadline)) || { echo "cluster.sh: $(basename "$d") not answering on $addr" >&2; exit 1; }
      sleep 0.2
    done
  done
  say "all nodes up"
}

status() {
  for d in $(node_dirs); do
    local addr
    addr="$(client_addr "$d")"
    echo "== $(basename "$d") ($addr)"
    "$meterctl" status --node "$addr" || echo "   not answering"
  done
}

down() {
  for d in $(node_dirs); do
    [ -f "$d/pid" ] || continue
    local pid
    pid="$(cat "$d/pid")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then
        say "$(basename "$d") did not stop in 10 s; killing"
        kill -KILL "$pid" 2>/dev/null || true
      fi
      say "stopped $(basename "$d")"
    fi
    rm -f "$d/pid"
  done
}

case "$cmd" in
  up) up ;;
  status) status ;;
  down) down ;;
  *) echo "usage: scripts/cluster.sh up|status|down [--nodes N] [--dir DIR] [--base-port P]" >&2; exit 2 ;;
esac
