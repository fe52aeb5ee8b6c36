#!/usr/bin/env bash
# Installs the Debian packages meterchain needs (only those missing), then configures and
# builds into build/. Idempotent: a second run installs nothing and rebuilds only what changed.
#
#   scripts/setup.sh            # Release-with-debug-info build in build/
#   MC_BUILD_DIR=/tmp/b scripts/setup.sh
#   MC_SANITIZE=ON scripts/setup.sh   # ASan + UBSan build
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${MC_BUILD_DIR:-$root/build}"
packages=(
  build-essential cmake ninja-build pkg-config
  libboost-dev libleveldb-dev libsnappy-dev libssl-dev openssl
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  catch2 procps python3-prometheus-client libeigen3-dev
)

say() { printf '[setup] %s\n' "$*"; }

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# The interop test's client (test/interop) runs on Node.js: Debian's nodejs and npm, installed
# only when no node or npm is on PATH (one installed some other way is kept).
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)

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

jobs="$(nproc 2>/dev/null || echo 2)"
# ccache is optional: where it is installed, rebuilds of unchanged files (and of other checkouts
# of the same tree, paths taken relative to the root) come from its cache.
launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR="$root"
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
say "configuring $build_dir"
cmake -S "$root" -B "$build_dir" -G Ninja "${launcher[@]}" \
  -DCMAKE_BUILD_TYPE="${MC_BUILD_TYPE:-RelWithDebInfo}" \
  -DMC_SANITIZE="${MC_SANITIZE:-OFF}" >/dev/null
say "building with $jobs jobs"
cmake --build "$build_dir" -j "$jobs"
say "build ready in $build_dir"
