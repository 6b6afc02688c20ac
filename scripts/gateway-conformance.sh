#!/usr/bin/env bash
# Runs the provider conformance suite through a real OpenAI-compatible gateway:
# the LiteLLM proxy (PyPI `litellm[proxy]`), started offline on 127.0.0.1 with a
# config that points it at agar's fake server, once per quirk profile
# (crates/agar-models/tests/it/gateway.rs). Called by .ci/run.
#
# The proxy is installed into a virtualenv (AGAR_GATEWAY_VENV, default
# ~/.cache/agar/litellm-venv) on first use. When that install fails (no
# package index, no python3 venv) the step is skipped with the reason printed;
# once installed, a gateway that does not start or a failing check fails.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${AGAR_GATEWAY_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/agar/litellm-venv}
. scripts/lib/pypi-server.sh
venv_install "$venv" litellm 'litellm[proxy]' "the gateway check"
echo "gateway: $("$venv/bin/litellm" --version 2>&1 | grep -i version | tail -n1)"

upstream=$(free_port)
port=$(free_port)
key="sk-agar-gateway-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"

cat >"$log_dir/config.yaml" <<YAML
model_list:
  - model_name: conf-model
    litellm_params:
      model: openai/conf-model
      api_base: http://127.0.0.1:$upstream/v1
      api_key: sk-upstream-not-a-real-key
litellm_settings:
  num_retries: 0
  request_timeout: 60
general_settings:
  master_key: $key
YAML

# Offline: the model price map is read from the installed package.
LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_TELEMETRY=False \
  "$venv/bin/litellm" --config "$log_dir/config.yaml" --host 127.0.0.1 --port "$port" \
  >"$log_dir/gateway.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 180); do
  curl -fsS -m 2 "http://127.0.0.1:$port/health/liveliness" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 1
done
if ! curl -fsS -m 2 "http://127.0.0.1:$port/health/liveliness" >/dev/null 2>&1; then
  echo "error: the LiteLLM proxy did not start:" >&2
  tail -n 30 "$log_dir/gateway.log" >&2
  exit 1
fi
echo "gateway listening on http://127.0.0.1:$port/v1, upstream fake server on port $upstream"

AGAR_GATEWAY_URL="http://127.0.0.1:$port/v1" AGAR_GATEWAY_KEY="$key" AGAR_GATEWAY_UPSTREAM_PORT="$upstream" \
  cargo test -q -p agar-models --test it gateway -- --ignored --nocapture
