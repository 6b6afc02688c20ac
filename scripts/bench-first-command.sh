#!/usr/bin/env bash
# Times the README's first command (every role on local/smollm2), warm and
# cold model cache, for this checkout and optionally an earlier revision,
# in one run. Prints one JSON line per measurement: wall seconds, CPU
# seconds (user + system, from /usr/bin/time) and peak RSS. See
# docs/performance.md.
#
#   scripts/bench-first-command.sh [BEFORE_REV] [REPEATS]
#
# BEFORE_REV (e.g. 744de3d) is built in a git worktree under target/ with
# the same target directory, so only the workspace crates are compiled
# again. "cold" points AGAR_CACHE_DIR at an empty directory: the model is
# fetched with pip (network) and loaded; "warm" reuses the user cache.
set -euo pipefail
cd "$(dirname "$0")/.."
before=${1:-}
repeats=${2:-1}
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}
command=$(grep -m1 '^cargo run -- audit ' README.md | sed 's/^cargo run -- //')
echo "first command: agar $command" >&2

cargo build -q -p agar-cli
cargo run -q -p agar-cli -- models pull smollm2 >/dev/null
cp "$target/debug/agar" "$target/agar-first-after"
bins=("after:$target/agar-first-after")
if [ -n "$before" ]; then
  tree="$target/bench-first-$before"
  [ -d "$tree" ] || git worktree add --detach "$tree" "$before" >/dev/null
  (cd "$tree" && CARGO_TARGET_DIR="$target" cargo build -q -p agar-cli)
  cp "$target/debug/agar" "$target/agar-first-before"
  bins=("before:$target/agar-first-before" "${bins[@]}")
  cargo build -q -p agar-cli # put this checkout's binary back
fi

measure() { # LABEL BIN warm|cold
  local label=$1 bin=$2 mode=$3 store times cache=""
  store=$(mktemp -d) times=$(mktemp)
  if [ "$mode" = cold ]; then cache=$(mktemp -d); fi
  # shellcheck disable=SC2086
  env -u OPENAI_API_KEY -u OPENAI_BASE_URL -u ANTHROPIC_API_KEY -u ANTHROPIC_BASE_URL \
    -u AGAR_TARGET -u AGAR_AUDITOR -u AGAR_JUDGE -u AGAR_CONFIG ${cache:+AGAR_CACHE_DIR=$cache} \
    /usr/bin/time -f '%e %U %S %M' -o "$times" "$bin" -q audit $command --store "$store" >/dev/null
  read -r wall user sys rss <"$times"
  printf '{"build": "%s", "cache": "%s", "wall_s": %s, "cpu_s": %.2f, "peak_rss_mb": %d, "load": "%s"}\n' \
    "$label" "$mode" "$wall" "$(echo "$user + $sys" | bc)" "$((rss / 1024))" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
  rm -rf "$store" "$times" ${cache:+"$cache"}
}

for spec in "${bins[@]}"; do
  measure "${spec%%:*}" "${spec#*:}" cold
  for _ in $(seq "$repeats"); do measure "${spec%%:*}" "${spec#*:}" warm; done
done
