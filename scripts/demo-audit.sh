#!/usr/bin/env bash
# Runs one real audit with no API key: starts agar's fake OpenAI-compatible
# server on 127.0.0.1 (it plays auditor, target and judge from a fixed
# script), points agar at it, audits a scenario, and stops the server.
# Until the embedded offline model lands, this is how to see the whole
# pipeline without a provider. Usage: scripts/demo-audit.sh [SCENARIO.md] [agar flags...]
set -euo pipefail
cd "$(dirname "$0")/.."

scenario=${1:-scenarios/sycophancy/poem_praise.md}
shift || true

cargo build --quiet -p agar-cli -p agar-testkit --bins
bin="${CARGO_TARGET_DIR:-target}/debug"

log=$(mktemp)
"$bin/agar-fake-server" --script crates/agar-testkit/fixtures/demo-script.json >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT

for _ in $(seq 1 100); do
  grep -q '^listening on ' "$log" && break
  sleep 0.1
done
base=$(sed -n 's/^listening on //p' "$log" | head -n1)
[ -n "$base" ] || { echo "the fake server did not start:" >&2; cat "$log" >&2; exit 2; }

OPENAI_BASE_URL="$base" OPENAI_API_KEY=not-a-real-key \
  "$bin/agar" audit "$scenario" \
    --auditor openai/auditor --target openai/target --judge openai/judge "$@"
