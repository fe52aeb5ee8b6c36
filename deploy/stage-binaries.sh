#!/usr/bin/env bash
# Collects what the meterchain image needs from a build directory into a small directory that
# deploy/Dockerfile takes as its input: the programs, the shared libraries `ldd` lists for them
# (except the C and C++ runtime, which the Debian 12 base image has), the genesis template and
# the init script. Used inside the image build (from source) and on a Debian 12 host whose
# build/ is to be packaged without compiling again (scripts/compose-up.sh --binaries host).
#
#   deploy/stage-binaries.sh BUILD_DIR OUT_DIR
#
# OUT_DIR gets bin/, lib/ and share/; it must not exist or be empty. No key or config is
# copied: keys are made at run time by the init service, into volumes.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${1:?usage: stage-binaries.sh BUILD_DIR OUT_DIR}"
out="${2:?usage: stage-binaries.sh BUILD_DIR OUT_DIR}"

# Programs of the image: path in the build directory. A program that does not exist yet in
# this tree (the cross-chain relay) is taken when it is there.
required=(node/daemon/meterchaind node/tools/meterctl)
optional=(crosschain/meterrelay)

if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
  echo "stage-binaries.sh: $out is not empty" >&2
  exit 1
fi
mkdir -p "$out/bin" "$out/lib" "$out/share"

programs=()
for p in "${required[@]}"; do
  [ -x "$build_dir/$p" ] || { echo "stage-binaries.sh: $build_dir/$p missing; build it first" >&2; exit 1; }
  programs+=("$build_dir/$p")
done
for p in "${optional[@]}"; do
  [ -x "$build_dir/$p" ] && programs+=("$build_dir/$p")
done

# The base image brings these (libc6, libgcc-s1, libstdc++6 are in every Debian 12 system);
# copying them would put a second C runtime beside the image's own loader.
base_libs='^(ld-linux.*|libc|libm|libdl|librt|libpthread|libresolv|libgcc_s|libstdc\+\+)\.so'

for prog in "${programs[@]}"; do
  # Stripped copies: the debug information stays in the build directory.
  install -m 0755 "$prog" "$out/bin/"
  strip --strip-unneeded "$out/bin/$(basename "$prog")" 2>/dev/null || true
  ldd "$prog" | awk '/=> \// {print $3}' | while read -r lib; do
    name="$(basename "$lib")"
    [[ "$name" =~ $base_libs ]] && continue
    [ -e "$out/lib/$name" ] && continue
    # The real file under the soname the loader asks for (ldd lists sonames, often links).
    install -m 0644 "$(readlink -f "$lib")" "$out/lib/$name"
  done
done
missing="$(ldd "${programs[@]}" | grep 'not found' || true)"
[ -z "$missing" ] || { echo "stage-binaries.sh: unresolved libraries: $missing" >&2; exit 1; }

install -m 0644 "$root/deploy/genesis.json" "$out/share/genesis.json"
install -m 0755 "$root/deploy/meterchain-init.sh" "$out/share/meterchain-init"
echo "staged $(ls "$out/bin" | tr '\n' ' ')and $(ls "$out/lib" | wc -l) libraries" \
     "($(du -sh "$out" | cut -f1)) in $out"
