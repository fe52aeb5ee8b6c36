#!/bin/sh
# The compose cluster's one-shot init service (installed in the image as meterchain-init).
#
# First run: `meterctl init-cluster` writes the CA, every node's SM2 and TLS keys, configs and
# the genesis into MC_INIT_DIR (a volume of its own; it keeps the CA key, which nothing else
# mounts). Then each validator's volume, mounted at MC_NODES_DIR/<name>, gets only that
# node's files:
#   <volume>/ca.pem, genesis.json            public, shared by all nodes
#   <volume>/node/node.json, sm2.key, tls.*  the node's config and its own private keys
#   <volume>/node/data/                      written by meterchaind (LevelDB, off-chain vault)
# Later runs change nothing, except that a validator volume found empty (lost, or removed to
# resync the node) gets its node's files again; the node then fetches the chain from its peers.
# Runs as root to hand the files to the image's non-root user; prints no key material.
set -eu

init_dir="${MC_INIT_DIR:-/var/lib/meterchain-init}"
nodes_dir="${MC_NODES_DIR:-/nodes}"
# In init-cluster's order: node i of init-cluster is the i-th name (checked below).
validators="${MC_VALIDATORS:-utility regulator third-party institute}"
genesis="${MC_GENESIS:-/usr/local/share/meterchain/genesis.json}"
owner="${MC_OWNER:-meterchain:meterchain}"
cluster="$init_dir/cluster"

count=0
hosts=""
for name in $validators; do
  count=$((count + 1))
  hosts="${hosts:+$hosts,}peer-$name"
done

if [ ! -f "$cluster/ca.pem" ]; then
  echo "meterchain-init: initialising $count validators ($validators)"
  # Peers reach node <name> as peer-<name>:7700 on the internal network (a compose alias
  # that exists there only); clients and the gateway listen on every interface.
  meterctl init-cluster --nodes "$count" --out "$cluster" --base-port 7700 \
    --hosts "$hosts" --client-listen-host 0.0.0.0 --gateway-port 8443 --genesis "$genesis"
  chmod 0700 "$init_dir" "$cluster"
else
  echo "meterchain-init: cluster already initialised in $cluster"
fi

i=0
for name in $validators; do
  src="$cluster/node$i"
  dst="$nodes_dir/$name"
  i=$((i + 1))
  grep -q "^ \"name\": \"$name\"," "$src/node.json" || {
    echo "meterchain-init: $src/node.json is not validator $name" >&2
    exit 1
  }
  [ -d "$dst" ] || { echo "meterchain-init: no volume mounted at $dst" >&2; exit 1; }
  if [ -f "$dst/node/node.json" ]; then
    echo "meterchain-init: $name already has its files"
    continue
  fi
  mkdir -p "$dst/node"
  cp "$cluster/ca.pem" "$cluster/genesis.json" "$dst/"
  cp -p "$src/node.json" "$src/sm2.key" "$src/tls.pem" "$src/tls.key" "$dst/node/"
  chown -R "$owner" "$dst"
  chmod 0700 "$dst/node"
  echo "meterchain-init: $name's files written"
done
