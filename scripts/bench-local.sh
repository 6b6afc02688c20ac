#!/usr/bin/env bash
# Benchmark of the embedded local model (agar-local, candle) beside llama.cpp
# (llama-cpp-python) on the same GGUF, with 1 and 2 threads, in one run.
# Prints one JSON line per engine and thread count; see docs/performance.md.
#
#   scripts/bench-local.sh [PROMPT_TOKENS] [GEN_TOKENS] [REPEATS]
#
# Needs python3 with pip: llama-cpp-python is built once into
# ${AGAR_BENCH_VENV:-target/bench-venv} (a few minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
n_prompt=${1:-128}
n_gen=${2:-64}
repeats=${3:-3}

model=$(cargo run -q -p agar-cli -- models pull smollm2)
cargo build -q --release -p agar-local --example bench

venv=${AGAR_BENCH_VENV:-target/bench-venv}
if ! "$venv/bin/python" -c 'import llama_cpp' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'llama-cpp-python[server]'
fi

uptime >&2
for threads in 1 2; do
  CANDLE_NUM_THREADS=$threads RAYON_NUM_THREADS=$threads \
    target/release/examples/bench "$model" "$n_prompt" "$n_gen" "$repeats" |
    sed "s/^{/{\"threads\": $threads, /"
  "$venv/bin/python" scripts/bench_llama_cpp.py "$model" "$threads" "$n_prompt" "$n_gen" "$repeats"
done
