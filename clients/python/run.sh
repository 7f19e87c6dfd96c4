#!/usr/bin/env bash
# Runs the Python example scenario against a running tco-gateway.
# Usage (from anywhere): bash clients/python/run.sh
# Env: GATEWAY_ADDR (default 127.0.0.1:50051), SIMULATOR_URL (default
# http://127.0.0.1:50052), PYTHON (default python3; 3.11 is what is tested);
# TCO_CA_FILE, TCO_CERT_FILE, TCO_KEY_FILE, TCO_BEARER_TOKEN, TCO_SERVER_NAME for TLS
# (see scenario.py; none set: plaintext).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
proto_dir="$(cd "$here/../../proto" && pwd)"
venv="$here/.venv"
gen="$here/gen"

# 1. A virtualenv with the pinned requirements (reinstalled when requirements.txt changes).
if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  echo "$want" > "$stamp"
fi

# 2. Stubs generated from the contract, fresh every run (never committed).
rm -rf "$gen"
mkdir -p "$gen"
(cd "$proto_dir" && "$venv/bin/python" -m grpc_tools.protoc -I . \
  --python_out="$gen" --grpc_python_out="$gen" twocheckout/v1/*.proto)

# 3. The scenario.
export GATEWAY_ADDR="${GATEWAY_ADDR:-127.0.0.1:50051}"
export SIMULATOR_URL="${SIMULATOR_URL:-http://127.0.0.1:50052}"
export GEN_DIR="$gen"
exec "$venv/bin/python" "$here/scenario.py"
