#!/usr/bin/env bash
# Runs agar's `--store s3://` tests against a real S3-compatible server: moto
# (PyPI `moto[server]`), started on 127.0.0.1 on a free port, with a fresh
# bucket. The ignored tests `s3_*` of crates/agar-cli/tests/it/s3.rs then
# write one run from two writers and two shards into the bucket (create-only
# puts) and merge it down with `agar merge s3://... --into DIR`. Called by .ci/run.
#
# moto is installed into a virtualenv (AGAR_MOTO_VENV, default
# ~/.cache/agar/moto-venv) on first use. When that install fails (no package
# index, no python3 venv) the step is skipped with the reason printed; once
# installed, a server that does not start or a failing test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${AGAR_MOTO_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/agar/moto-venv}
. scripts/lib/pypi-server.sh
venv_install "$venv" moto_server 'moto[server]' "the S3 test"
echo "S3 server: moto $("$venv/bin/python" -c 'import moto; print(moto.__version__)')"

port=$(free_port)
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log_dir/moto.log" 2>&1 &
server_pid=$!
endpoint="http://127.0.0.1:$port"
for _ in $(seq 1 60); do
  curl -fsS -m 2 "$endpoint/moto-api/" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.5
done
if ! curl -fsS -m 2 "$endpoint/moto-api/" >/dev/null 2>&1; then
  echo "error: moto did not start:" >&2
  tail -n 30 "$log_dir/moto.log" >&2
  exit 1
fi

bucket=agar-e2e
curl -fsS -m 10 -X PUT "$endpoint/$bucket" >/dev/null
echo "moto listening on $endpoint, bucket $bucket"

# The standard AWS variables, as a user sets them for any S3-compatible
# service; AWS_ALLOW_HTTP=true is the explicit opt-in for a plain-http endpoint.
AWS_ENDPOINT_URL="$endpoint" AWS_ALLOW_HTTP=true AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=agar-e2e AWS_SECRET_ACCESS_KEY=agar-e2e-secret \
  AGAR_S3_BUCKET="$bucket" \
  cargo test -q -p agar-cli --test it s3_ -- --ignored --nocapture
