# Shared by the scripts that test agar against a server installed from PyPI
# into a cached virtualenv (gateway-conformance.sh: LiteLLM; s3-e2e.sh: moto).
# Source it after `set -euo pipefail`. It makes $log_dir (removed on exit) and
# stops $server_pid, when set, on exit.

log_dir=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$log_dir"
}
trap cleanup EXIT

# venv_install VENV BIN PACKAGE WHAT: pip-installs PACKAGE into VENV unless
# VENV/bin/BIN exists. When the install fails (no package index, no python3
# venv) it prints why WHAT is skipped and exits 0.
venv_install() {
  local venv=$1 bin=$2 package=$3 what=$4
  [ -x "$venv/bin/$bin" ] && return 0
  echo "installing $package into $venv (pip install '$package')"
  if ! { python3 -m venv "$venv" && "$venv/bin/pip" install -q "$package"; } >"$log_dir/install.log" 2>&1; then
    echo "SKIPPED: $what: could not install $package:"
    tail -n 5 "$log_dir/install.log"
    rm -rf "$venv"
    exit 0
  fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
