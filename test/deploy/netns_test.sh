#!/usr/bin/env bash
# Four validators on four "hosts": one network namespace per meterchaind, each with its own
# address on a bridge (in a namespace of its own, so the host's network is never touched), all
# made by this test. Checks that transactions commit everywhere, that the cluster goes on while
# one node's link loses packets (nftables, 30 %) and while it is cut, that the cut node catches
# up when its link returns, and that a daemon in an extra namespace with a configuration, keys
# and CA of its own (no configured peer) cannot join although it reaches the peer ports.
#
#   test/deploy/netns_test.sh SOURCE_DIR BUILD_DIR
#
# Exit 77 (CTest: skipped) with the reason where `ip netns` is not allowed (not root, no
# iproute2, a sandbox). Every daemon and namespace it made is removed at the end, also on
# failure. Addresses: 198.18.0.0/24 (the benchmarking range), inside these namespaces only.
set -euo pipefail

root="${1:?usage: netns_test.sh SOURCE_DIR BUILD_DIR}"
build_dir="${2:?usage: netns_test.sh SOURCE_DIR BUILD_DIR}"
meterctl="$build_dir/node/tools/meterctl"
meterchaind="$build_dir/node/daemon/meterchaind"
prefix="mcnt$$"
switch="$prefix-sw"
intruder="$prefix-x"
nodes=4
started=$SECONDS

say() { printf '[netns-test %3ds] %s\n' "$((SECONDS - started))" "$*"; }
skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAILED: $*" >&2; exit 1; }
ns() { echo "$prefix-n$1"; }
addr() { echo "198.18.0.$(($1 + 1))"; }

[ "$(id -u)" -eq 0 ] || skip "network namespaces need root"
command -v ip >/dev/null || skip "no ip command (Debian package iproute2)"
if ! err="$(ip netns add "$switch" 2>&1)"; then
  skip "ip netns add is not allowed here: $err"
fi

work="$(mktemp -d /tmp/mc-netns-test.XXXXXX)"
pids=()
cleanup() {
  local rc=$? p deadline
  set +e
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  deadline=$((SECONDS + 15))
  for p in "${pids[@]}"; do
    while kill -0 "$p" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
  done
  if ((rc != 0)); then
    for f in "$work"/*.log; do [ -f "$f" ] && { echo "== $f (last lines)"; tail -n 15 "$f"; }; done
  fi
  for n in $(ip netns list | awk -v p="$prefix-" 'index($1, p) == 1 {print $1}'); do
    ip netns del "$n"
  done
  [ -z "$(ip netns list | awk -v p="$prefix-" 'index($1, p) == 1')" ] || { echo "namespaces left" >&2; rc=1; }
  rm -rf "$work"
  say "done, exit $rc"
  exit "$rc"
}
trap cleanup EXIT
# A signal (CTest's timeout, ^C) ends the script through the same cleanup.
trap 'exit 143' TERM INT HUP

# ---- the network: a bridge in the switch namespace, a veth to each host namespace ----
ip -n "$switch" link add br0 type bridge
ip -n "$switch" link set br0 up
attach() {  # attach NAMESPACE PORT ADDRESS
  ip netns add "$1"
  ip -n "$1" link set lo up
  ip -n "$switch" link add "$2" type veth peer name eth0 netns "$1"
  ip -n "$switch" link set "$2" master br0 up
  ip -n "$1" addr add "$3/24" dev eth0
  ip -n "$1" link set eth0 up
}
for ((i = 0; i < nodes; i++)); do attach "$(ns $i)" "p$i" "$(addr $i)"; done
attach "$intruder" px 198.18.0.9
ip netns exec "$(ns 0)" ping -c 1 -W 5 "$(addr 3)" >/dev/null || fail "the bridge does not carry traffic"
say "namespaces and bridge up: nodes on $(addr 0)..$(addr 3), an extra host on 198.18.0.9"

# ---- the cluster: one init-cluster, each node on its own address ----
hosts="$(for ((i = 0; i < nodes; i++)); do addr $i; done | paste -sd,)"
"$meterctl" init-cluster --nodes $nodes --out "$work/cluster" --base-port 7700 --hosts "$hosts" \
  --genesis "$root/deploy/genesis.json" >/dev/null
start_node() {  # start_node NAMESPACE CONFIG LOG
  ip netns exec "$1" "$meterchaind" --config "$2" >"$3" 2>&1 &
  pids+=($!)
}
for ((i = 0; i < nodes; i++)); do
  start_node "$(ns $i)" "$work/cluster/node$i/node.json" "$work/node$i.log"
done
in_ns() { local i="$1"; shift; ip netns exec "$(ns "$i")" "$meterctl" "$@" --node "$(addr "$i"):7701"; }
# Peers node $1 reports as DISCONNECTED (its status lists every validator, itself connected).
disconnected() { in_ns "$1" status 2>/dev/null | grep -c ' DISCONNECTED$' || true; }
wait_peers() {
  local deadline=$((SECONDS + 60)) n
  until in_ns "$1" status >/dev/null 2>&1 && n="$(disconnected "$1")" && [ "$n" -eq 0 ]; do
    ((SECONDS < deadline)) || fail "node $1 still misses ${n:-all} peers"
    sleep 0.2
  done
}
for ((i = 0; i < nodes; i++)); do wait_peers $i; done
say "4 daemons up, each connected to the 3 others across the bridge"

ip netns exec "$(ns 0)" "$meterctl" keygen --out "$work/client.key" >/dev/null 2>&1
declare -A height_of
hashes=()
submit() {  # submit NODE COUNT TAG: COUNT key/value transactions through NODE
  local i out hash
  hashes=()
  for ((i = 1; i <= $2; i++)); do
    out="$(in_ns "$1" put --key-file "$work/client.key" --key "netns/$3/$i" --value "$3 $i" 2>&1)" ||
      fail "put through node $1: $out"
    read -r _ hash _ height _ <<<"$out"  # tx HASH committed height=H index=I
    height_of[$hash]="${height#height=}"
    hashes+=("$hash")
  done
}
# Waits until node $1 has every transaction of the last submit committed at the same height.
wait_committed() {
  local deadline=$((SECONDS + ${2:-60})) h got
  for h in "${hashes[@]}"; do
    until got="$(in_ns "$1" get-tx --hash "$h" --json 2>/dev/null |
                 sed -n 's/.*"state": "\([a-z]*\)", "height": \([0-9]*\).*/\1 \2/p')"
          [ "$got" = "committed ${height_of[$h]}" ]; do
      ((SECONDS < deadline)) || fail "node $1: tx $h is '${got:-unknown}', expected committed at ${height_of[$h]}"
      sleep 0.2
    done
  done
}

submit 0 5 first
for ((i = 0; i < nodes; i++)); do wait_committed $i; done
say "5 transactions through node 0 committed on all four"

# ---- node 3's link loses 30 % of its packets each way ----
ip netns exec "$(ns 3)" nft -f - <<'EOF' || fail "nftables in node 3's namespace"
table inet mcloss {
  chain input { type filter hook input priority 0; numgen random mod 100 < 30 drop; }
  chain output { type filter hook output priority 0; numgen random mod 100 < 30 drop; }
}
EOF
submit 1 5 lossy
for ((i = 0; i < nodes; i++)); do wait_committed $i 120; done
ip netns exec "$(ns 3)" nft delete table inet mcloss
say "with 30 % loss on node 3's link, 5 more committed on all four (node 3 too)"

# ---- node 3's link cut ----
ip -n "$switch" link set p3 down
submit 2 5 cut
for ((i = 0; i < 3; i++)); do wait_committed $i; done
tip="${height_of[${hashes[4]}]}"
got="$(in_ns 3 status | awk '$1 == "height" {print $2}')"
((got < tip)) || fail "node 3 is at height $got with its link cut, the others at $tip"
say "link of node 3 cut: the other three committed 5 more (height $tip), node 3 stays at $got"
ip -n "$switch" link set p3 up
wait_committed 3 120
say "link back: node 3 caught up to height $tip"

# ---- a daemon that is no configured peer cannot join ----
# Its own init-cluster: the same chain id, a validator list naming the real nodes' addresses,
# but its own keys and CA, so the real nodes cannot verify it and it cannot verify them.
"$meterctl" init-cluster --nodes $nodes --out "$work/intruder" --base-port 7700 \
  --hosts "198.18.0.9,$(addr 1),$(addr 2),$(addr 3)" --genesis "$root/deploy/genesis.json" >/dev/null
ip netns exec "$intruder" "$meterchaind" --config "$work/intruder/node0/node.json" \
  >"$work/intruder.log" 2>&1 &
pids+=($!)
deadline=$((SECONDS + 30))
until ip netns exec "$intruder" "$meterctl" status --node 198.18.0.9:7701 >/dev/null 2>&1; do
  ((SECONDS < deadline)) || fail "the extra daemon does not start"
  sleep 0.2
done
ip netns exec "$intruder" timeout 3 bash -c "exec 3<>/dev/tcp/$(addr 1)/7700" ||
  fail "the extra namespace cannot open a TCP connection to a peer port (the test needs it to)"
# The cluster's own commits are the clock: 5 more blocks while the intruder keeps dialing.
submit 0 5 intruder
for ((i = 0; i < nodes; i++)); do wait_committed $i; done
x_status="$(ip netns exec "$intruder" "$meterctl" status --node 198.18.0.9:7701)"
[ "$(grep -c ' DISCONNECTED$' <<<"$x_status")" -eq 3 ] ||
  fail "the extra daemon connected to a peer: $x_status"
x_height="$(awk '$1 == "height" {print $2}' <<<"$x_status")"
[ "$x_height" = 0 ] || fail "the extra daemon reached height $x_height"
for ((i = 0; i < nodes; i++)); do
  n="$(disconnected $i)"
  [ "$n" -eq 0 ] || fail "node $i lost $n peers with the extra daemon around"
done
say "a daemon in an extra namespace (own keys and CA) reaches the peer ports but joins no one: height 0, no peer"

say "PASSED in $((SECONDS - started)) s"
