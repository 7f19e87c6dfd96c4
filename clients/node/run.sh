#!/usr/bin/env bash
# Runs the Node example scenario against a running tco-gateway.
# Usage (from anywhere): bash clients/node/run.sh
# Env: GATEWAY_ADDR (default 127.0.0.1:50051), SIMULATOR_URL (default
# http://127.0.0.1:50052); TCO_CA_FILE, TCO_CERT_FILE, TCO_KEY_FILE, TCO_BEARER_TOKEN,
# TCO_SERVER_NAME for TLS (see scenario.js; none set: plaintext). Needs Node 20+ and npm.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi

export GATEWAY_ADDR="${GATEWAY_ADDR:-127.0.0.1:50051}"
export SIMULATOR_URL="${SIMULATOR_URL:-http://127.0.0.1:50052}"
exec node scenario.js
