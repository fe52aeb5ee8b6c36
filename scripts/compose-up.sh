#!/usr/bin/env bash
# The operators' way to run meterchain with Docker: the four provincial validators of
# deploy/docker-compose.yml on one host (deploy/README.md has the rest: health, logs, metrics,
# backups).
#
#   scripts/compose-up.sh [up] [--binaries source|host] [--build-dir DIR] [--no-build]
#                              [--project NAME] [--image NAME] [--timeout S]
#   scripts/compose-up.sh status [--project NAME]
#   scripts/compose-up.sh down [--volumes] [--project NAME]
#
# up:     makes the base image when it is missing (deploy/make-base-image.sh: debootstrap,
#         needs root), builds the image, starts the cluster (the init service generates the
#         keys into volumes on first start) and waits until every validator is healthy.
#         --binaries source (default) compiles inside the image build (10-25 min on 2 cores);
#         --binaries host packages this Debian 12 host's build (scripts/setup.sh; --build-dir,
#         default build/) in seconds. --no-build uses the image as it is.
# status: the containers and each validator's height, view and peers.
# down:   stops and removes the containers and networks; --volumes removes the volumes too,
#         i.e. every key and the whole chain (asks for no confirmation).
#
# Environment: MC_DOCKER (docker CLI with BuildKit; default Debian's /usr/bin/docker when the
# `docker` on PATH has no buildx), MC_BASE_IMAGE (default meterchain-base:bookworm), and
# deploy/docker-compose.yml's MC_BIND, MC_PORT_<NODE>, MC_GATEWAY_PORT_<NODE>.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
compose_file="$root/deploy/docker-compose.yml"
validators=(utility regulator third-party institute)

usage() { awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; }
cmd=up
case "${1:-}" in
  up|status|down) cmd="$1"; shift ;;
  -h|--help) usage; exit 0 ;;
esac
binaries=source
build_dir="${MC_BUILD_DIR:-$root/build}"
build=1
project="${COMPOSE_PROJECT_NAME:-meterchain}"
image="${MC_IMAGE:-meterchain:latest}"
base_image="${MC_BASE_IMAGE:-meterchain-base:bookworm}"
timeout=180
remove_volumes=0
while (($#)); do
  case "$1" in
    --binaries) binaries="$2"; shift 2 ;;
    --build-dir) build_dir="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --project) project="$2"; shift 2 ;;
    --image) image="$2"; shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    --volumes) remove_volumes=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "compose-up.sh: unknown argument '$1' (--help lists them)" >&2; exit 2 ;;
  esac
done
case "$binaries" in source|host) ;; *) echo "compose-up.sh: --binaries source|host" >&2; exit 2 ;; esac

say() { printf '[compose] %s\n' "$*"; }
die() { echo "compose-up.sh: $*" >&2; exit 1; }

# A docker CLI that builds with BuildKit: the Debian docker.io CLI has it built in; a newer
# CLI needs its buildx plugin.
if [ -n "${MC_DOCKER:-}" ]; then
  docker="$MC_DOCKER"
elif docker buildx version >/dev/null 2>&1 || [ ! -x /usr/bin/docker ]; then
  docker=docker
else
  docker=/usr/bin/docker
fi
export MC_DOCKER="$docker" MC_IMAGE="$image"
command -v docker-compose >/dev/null || die "docker-compose is missing (apt-get install docker-compose)"
compose=(docker-compose -p "$project" -f "$compose_file")

"$docker" info >/dev/null 2>&1 || die "cannot reach the Docker engine ($docker info failed): start dockerd" \
  "(as root: dockerd & or systemctl start docker) or set DOCKER_HOST"

health() { "$docker" inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$1" 2>/dev/null || echo absent; }

build_image() {
  "$root/deploy/make-base-image.sh" "$base_image"
  local context
  if [ "$binaries" = host ]; then
    [ -x "$build_dir/node/daemon/meterchaind" ] || die "no build in $build_dir: run scripts/setup.sh first"
    stage_dir="$(mktemp -d /tmp/meterchain-stage.XXXXXX)"
    trap 'rm -rf "$stage_dir"' EXIT
    context="$stage_dir"
    "$root/deploy/stage-binaries.sh" "$build_dir" "$context" | sed 's/^/[compose] /'
  else
    context="$root"
  fi
  say "building $image from $binaries binaries"
  DOCKER_BUILDKIT=1 "$docker" build --progress=plain -f "$root/deploy/Dockerfile" \
    --build-arg BASE_IMAGE="$base_image" --build-arg BINARIES="$binaries" \
    -t "$image" "$context" >"${MC_BUILD_LOG:-/dev/null}" 2>&1 || {
      die "image build failed${MC_BUILD_LOG:+ (log: $MC_BUILD_LOG)}; rerun with MC_BUILD_LOG=FILE to see it"
    }
}

up() {
  if ((build)); then
    build_image
  else
    "$docker" image inspect "$image" >/dev/null 2>&1 || die "image $image missing (drop --no-build)"
  fi
  say "starting project $project"
  "${compose[@]}" up -d --no-build 2>&1 | sed 's/^/[compose] /'
  local deadline=$((SECONDS + timeout)) v c state
  for v in "${validators[@]}"; do
    c="$("${compose[@]}" ps -q "$v")"
    [ -n "$c" ] || die "no container for $v"
    while state="$(health "$c")"; [ "$state" != healthy ]; do
      if [ "$state" = exited ] || ((SECONDS >= deadline)); then
        "${compose[@]}" logs --tail 20 "$v" >&2
        die "$v is $state"
      fi
      sleep 1
    done
    say "$v healthy"
  done
  say "up: client API and gateway ports on the host:"
  for v in "${validators[@]}"; do
    say "  $v  grpc $("${compose[@]}" port "$v" 7701)  http $("${compose[@]}" port "$v" 8443)"
  done
}

status() {
  "${compose[@]}" ps
  for v in "${validators[@]}"; do
    echo "== $v"
    "${compose[@]}" exec -T "$v" meterctl status --node 127.0.0.1:7701 || echo "   not answering"
  done
}

down() {
  local flags=(--remove-orphans)
  ((remove_volumes)) && flags+=(--volumes)
  "${compose[@]}" down "${flags[@]}" 2>&1 | sed 's/^/[compose] /'
}

"$cmd"
