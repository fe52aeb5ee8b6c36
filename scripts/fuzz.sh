#!/usr/bin/env bash
# Builds the libFuzzer targets (test/fuzz) with clang and runs one of them.
#
#   scripts/fuzz.sh TARGET SECONDS      # e.g. scripts/fuzz.sh block 600
#   scripts/fuzz.sh --list              # the targets
#   scripts/fuzz.sh --build             # only build every target
#   scripts/fuzz.sh --ci TARGET SECONDS # CTest's short run (see below)
#
# The targets: tx_body, block, consensus, peer_frame, codec, config, contract_call.
# The build goes to build-fuzz/ (MC_FUZZ_BUILD_DIR to change it): every library compiled with
# clang -fsanitize=fuzzer-no-link,address,undefined.
#
# A run starts from the committed seed corpus test/fuzz/corpus/TARGET (small inputs taken from
# a real chain; no private keys) and keeps what it finds in <build>/corpus/TARGET, which the
# next run starts from too; the committed corpus is never written. A crash leaves its input in
# <build>/crashes/TARGET/ and the script exits non-zero; replay it with
#   <build>/test/fuzz/fuzz_TARGET <build>/crashes/TARGET/crash-...
#
# --ci (CTest): runs on a scratch copy of the committed corpus only, and exits 77 (reported as
# skipped) with the reason when clang or its libFuzzer runtime is missing.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${MC_FUZZ_BUILD_DIR:-$root/build-fuzz}"
targets=(tx_body block consensus peer_frame codec config contract_call)
skip_code=77

say() { printf '[fuzz] %s\n' "$*" >&2; }

usage() {
  sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

ci=0
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  --list) printf '%s\n' "${targets[@]}"; exit 0 ;;
  --ci) ci=1; shift ;;
esac

# clang with libFuzzer: a probe program must link with -fsanitize=fuzzer.
have_libfuzzer() {
  command -v clang++ >/dev/null || { echo "clang++ is not installed"; return 1; }
  local probe
  probe="$(mktemp -d)"
  printf '%s\n' '#include <cstdint>' '#include <cstddef>' \
    'extern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }' \
    >"$probe/probe.cpp"
  if ! clang++ -fsanitize=fuzzer,address,undefined "$probe/probe.cpp" -o "$probe/probe" \
      >/dev/null 2>&1; then
    rm -rf "$probe"
    echo "clang++ cannot link -fsanitize=fuzzer (Debian package libclang-rt-14-dev missing?)"
    return 1
  fi
  rm -rf "$probe"
}

build() {
  local what=("$@")
  if [ ! -f "$build_dir/build.ninja" ]; then
    local launcher=()
    if command -v ccache >/dev/null; then
      export CCACHE_BASEDIR="$root"
      launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
    fi
    say "configuring $build_dir (clang, libFuzzer + ASan + UBSan)"
    CC=clang CXX=clang++ cmake -S "$root" -B "$build_dir" -G Ninja "${launcher[@]}" \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMC_FUZZ=ON -DMC_BUILD_TESTS=OFF >/dev/null
  fi
  say "building ${what[*]}"
  nice -n 5 cmake --build "$build_dir" -j "$(nproc 2>/dev/null || echo 2)" --target "${what[@]}" >&2
}

if ! reason="$(have_libfuzzer)"; then
  say "skipped: $reason"
  exit "$skip_code"
fi

if [ "${1:-}" = "--build" ]; then
  build fuzz_all
  exit 0
fi

target="${1:-}"
seconds="${2:-}"
if [ -z "$target" ] || [ -z "$seconds" ] || ! [[ "$seconds" =~ ^[0-9]+$ ]]; then
  usage
  exit 2
fi
if [[ ! " ${targets[*]} " == *" $target "* ]]; then
  say "unknown target '$target'; targets: ${targets[*]}"
  exit 2
fi

binary="$build_dir/test/fuzz/fuzz_$target"
# Under CTest the fuzz_build fixture has built every target: the runs, maybe in parallel, do
# not run the build tool in the same directory at once.
if [ "$ci" = 0 ] || [ ! -x "$binary" ]; then
  build "fuzz_$target"
fi
seeds="$root/test/fuzz/corpus/$target"
crashes="$build_dir/crashes/$target"
mkdir -p "$crashes"

if [ "$ci" = 1 ]; then
  corpus="$(mktemp -d)"
  trap 'rm -rf "$corpus"' EXIT
else
  corpus="$build_dir/corpus/$target"
  mkdir -p "$corpus"
fi

say "running fuzz_$target for ${seconds}s (seeds: $seeds, corpus: $corpus)"
# -rss_limit_mb: a decoder that allocates what a length field claims shows up as a failure.
set +e
"$binary" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=1024 \
  -timeout=10 -artifact_prefix="$crashes/" "$corpus" "$seeds"
code=$?
set -e
if [ "$code" -ne 0 ]; then
  say "fuzz_$target FAILED (exit $code); inputs in $crashes/"
  exit 1
fi
say "fuzz_$target: no crash in ${seconds}s"
