#!/usr/bin/env bash
# Runs agar's real-server checks (crates/agar-models/tests/it/real_server.rs)
# against llama.cpp's own server. Not part of CI (it needs llama.cpp and a
# GGUF model). Usage:
#   LLAMA_MODEL=/path/model.gguf scripts/llama-cpp-conformance.sh [llama-server flags...]
# LLAMA_SERVER names the binary (default: llama-server on PATH). The server
# runs on a free 127.0.0.1 port with a 2,048-token context (override with
# -c N) and --jinja (needed for tool calls).
set -euo pipefail
cd "$(dirname "$0")/.."

server=${LLAMA_SERVER:-$(command -v llama-server || true)}
if [ -z "$server" ]; then
  echo "SKIPPED: llama-server is not installed (set LLAMA_SERVER or put it on PATH)"; exit 0
fi
if [ -z "${LLAMA_MODEL:-}" ] || [ ! -f "$LLAMA_MODEL" ]; then
  echo "SKIPPED: set LLAMA_MODEL to a GGUF chat model"; exit 0
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
"$server" -m "$LLAMA_MODEL" --host 127.0.0.1 --port "$port" -c 2048 --jinja "$@" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 300); do
  curl -fsS -m 2 "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 1
done
AGAR_REAL_SERVER_URL="http://127.0.0.1:$port/v1" AGAR_REAL_SERVER_MODEL=model \
  cargo test -q -p agar-models --test it real_server -- --ignored --nocapture
