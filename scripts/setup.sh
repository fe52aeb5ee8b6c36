#!/usr/bin/env bash
# Installs the Debian packages meterchain needs (only those missing), then configures and
# builds into build/. Idempotent: a second run installs nothing and rebuilds only what changed.
#
#   scripts/setup.sh            # Release-with-debug-info build in build/
#   MC_BUILD_DIR=/tmp/b scripts/setup.sh
#   MC_SANITIZE=ON scripts/setup.sh   # ASan + UBSan build
#   MC_SETUP_BUILD_ONLY=1 MC_BUILD_TARGETS="meterchaind meterctl" scripts/setup.sh
#                               # only the build packages and those programs (the image build)
#   MC_JOBS=1 scripts/setup.sh  # compile jobs (default: the number of cores)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${MC_BUILD_DIR:-$root/build}"
build_only="${MC_SETUP_BUILD_ONLY:-0}"
packages=(
  build-essential cmake ninja-build pkg-config
  libboost-dev libleveldb-dev libsnappy-dev libssl-dev openssl
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  catch2 procps libeigen3-dev
)
# What the tests use beyond the build: the gateway test's metrics parser; the deployment
# tests' container engine, compose, base-image maker, network namespaces, packet filter and
# YAML parser (Debian's, for /usr/bin/python3).
test_packages=(
  python3-prometheus-client
  docker.io docker-compose debootstrap iproute2 nftables iputils-ping python3-yaml
)
[ "$build_only" = 1 ] || packages+=("${test_packages[@]}")

say() { printf '[setup] %s\n' "$*"; }

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# The interop test's client (test/interop) runs on Node.js: Debian's nodejs and npm, installed
# only when no node or npm is on PATH (one installed some other way is kept).
if [ "$build_only" != 1 ]; then
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
fi

if ((${#missing[@]})); then
  say "installing missing packages: ${missing[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { say "need root or sudo to install packages"; exit 1; }
    sudo_cmd=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -q
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  say "all ${#packages[@]} packages already installed"
fi

jobs="${MC_JOBS:-$(nproc 2>/dev/null || echo 2)}"
# ccache is optional: where it is installed, rebuilds of unchanged files (and of other checkouts
# of the same tree, paths taken relative to the root) come from its cache.
launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR="$root"
  # Debug info names the build directory; without this every checkout would miss the cache.
  export CCACHE_NOHASHDIR=1
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
say "configuring $build_dir"
cmake -S "$root" -B "$build_dir" -G Ninja "${launcher[@]}" \
  -DCMAKE_BUILD_TYPE="${MC_BUILD_TYPE:-RelWithDebInfo}" \
  -DMC_SANITIZE="${MC_SANITIZE:-OFF}" >/dev/null
targets=()
for t in ${MC_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
say "building with $jobs jobs${MC_BUILD_TARGETS:+ (targets: $MC_BUILD_TARGETS)}"
cmake --build "$build_dir" -j "$jobs" "${targets[@]}"
say "build ready in $build_dir"
