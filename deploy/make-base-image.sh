#!/usr/bin/env bash
# Makes the Debian 12 base image of deploy/Dockerfile offline, from Debian's package archive:
# no image registry is needed. Root only (debootstrap); about a minute and ~200 MB.
#
#   deploy/make-base-image.sh [IMAGE]      # default meterchain-base:bookworm
#
# MC_DOCKER names the docker CLI (default: docker). Does nothing when IMAGE exists.
set -euo pipefail

image="${1:-meterchain-base:bookworm}"
docker="${MC_DOCKER:-docker}"
say() { printf '[base-image] %s\n' "$*"; }

if "$docker" image inspect "$image" >/dev/null 2>&1; then
  say "$image exists"
  exit 0
fi
command -v debootstrap >/dev/null || {
  echo "make-base-image.sh: debootstrap is missing (apt-get install debootstrap)" >&2
  exit 1
}
[ "$(id -u)" -eq 0 ] || { echo "make-base-image.sh: debootstrap needs root" >&2; exit 1; }

rootfs="$(mktemp -d /tmp/meterchain-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
say "debootstrap --variant=minbase bookworm (log: $rootfs.log)"
debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$rootfs.log" 2>&1 || {
  tail -n 20 "$rootfs.log" >&2
  exit 1
}
rm -f "$rootfs.log"
# Security and point-release updates too, as on a Debian host.
rm -f "$rootfs/etc/apt/sources.list"
cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
tar -C "$rootfs" -c . | "$docker" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --message "debootstrap --variant=minbase bookworm" - "$image" >/dev/null
say "imported $image ($("$docker" image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
