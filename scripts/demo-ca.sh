#!/usr/bin/env bash
# A throwaway certificate authority for trying TLS and client certificates on a laptop
# (the README's walkthrough and .ci/run use it). NOT for production: the CA key sits
# unprotected next to the certificates, and everything expires in DAYS days.
#
# Usage: scripts/demo-ca.sh <dir>     (the directory is created; files in it are replaced)
#
# Needs only the `openssl` command-line tool (OpenSSL 1.1.1 or 3.x; Debian and Ubuntu
# ship it in the `openssl` package, macOS with Homebrew's openssl@3). Writes, in <dir>:
#
#   ca.crt, ca.key                  the demo CA (ECDSA P-256); ca.crt is what both sides trust
#   server.crt, server.key          the gateway's certificate: DNS localhost, IP 127.0.0.1
#   support-tool.crt, .key          a client with the SPIFFE URI SAN
#                                   spiffe://payments.internal/support-tool (its identity)
#   example-client.crt, .key        a client with the DNS SAN example-client.payments.internal
#   reporting-job.crt, .key         a client with only a CN, "reporting-job" (its identity)
#   policy.toml                     a gateway policy: support-tool may GetSale and RefundInvoice
#                                   (refunds up to 100.00 USD); example-client may Authorize,
#                                   GetSale and RefundInvoice (up to 250.00 USD: what the example
#                                   clients in clients/ do); reporting-job may only ListSales
#
# Start a gateway with them (see the README's "TLS and client certificates"):
#   TCO_SERVER__TLS__CERT_FILE=<dir>/server.crt TCO_SERVER__TLS__KEY_FILE=<dir>/server.key \
#   TCO_SERVER__TLS__CLIENT_CA_FILE=<dir>/ca.crt TCO_AUTH__POLICY_FILE=<dir>/policy.toml cargo run
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 <dir>" >&2
  exit 2
fi
if ! command -v openssl >/dev/null; then
  echo "$0: the openssl command-line tool is needed (Debian/Ubuntu: apt-get install openssl)" >&2
  exit 1
fi
dir="$1"
days="${DAYS:-30}"
mkdir -p "$dir"
umask 077 # keys readable by their owner only
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# issue <name> <subject> <extensions...>: a leaf certificate signed by the CA (X.509 v3).
issue() {
  local name="$1" subject="$2"
  shift 2
  new_key "$dir/$name.key"
  openssl req -new -key "$dir/$name.key" -subj "$subject" -out "$work/$name.csr"
  printf '%s\n' "$@" >"$work/$name.ext"
  openssl x509 -req -in "$work/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -CAserial "$work/ca.srl" -days "$days" -sha256 -extfile "$work/$name.ext" -out "$dir/$name.crt" 2>/dev/null
}

# The CA: self-signed, may only sign certificates.
new_key "$dir/ca.key"
openssl req -new -x509 -key "$dir/ca.key" -subj "/O=tco-gateway demo/CN=tco-gateway demo CA" -days "$days" -sha256 \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -addext "subjectKeyIdentifier=hash" -out "$dir/ca.crt"

leaf=("basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" "subjectKeyIdentifier=hash"
  "authorityKeyIdentifier=keyid")
issue server "/O=tco-gateway demo/CN=localhost" "${leaf[@]}" "extendedKeyUsage=serverAuth" \
  "subjectAltName=DNS:localhost,IP:127.0.0.1"
issue support-tool "/O=tco-gateway demo/CN=support-tool" "${leaf[@]}" "extendedKeyUsage=clientAuth" \
  "subjectAltName=URI:spiffe://payments.internal/support-tool"
issue example-client "/O=tco-gateway demo/CN=example-client" "${leaf[@]}" "extendedKeyUsage=clientAuth" \
  "subjectAltName=DNS:example-client.payments.internal"
issue reporting-job "/O=tco-gateway demo/CN=reporting-job" "${leaf[@]}" "extendedKeyUsage=clientAuth"

cat >"$dir/policy.toml" <<'EOF'
# Demo policy for the certificates scripts/demo-ca.sh made (TCO_AUTH__POLICY_FILE).

# The support tool: identified by its certificate's SPIFFE URI SAN.
[[caller]]
identity = "spiffe://payments.internal/support-tool"
methods = ["twocheckout.v1.SalesService/GetSale", "twocheckout.v1.SalesService/RefundInvoice"]
max_refund = { amount = "100.00", currency = "USD" }

# The example clients in clients/ (card payment, lookup, refunds): identified by their DNS SAN.
[[caller]]
identity = "example-client.payments.internal"
methods = [
  "twocheckout.v1.AuthorizationService/Authorize",
  "twocheckout.v1.SalesService/GetSale",
  "twocheckout.v1.SalesService/RefundInvoice",
]
max_refund = { amount = "250.00", currency = "USD" }

# A reporting job: its certificate has no SAN, so its identity is its CN.
[[caller]]
identity = "reporting-job"
methods = ["twocheckout.v1.SalesService/ListSales"]
EOF
chmod 644 "$dir"/*.crt "$dir/policy.toml"

echo "demo CA in $dir (valid $days days): ca.crt, server.crt/.key (localhost, 127.0.0.1),"
echo "support-tool.crt/.key (spiffe://payments.internal/support-tool), example-client.crt/.key"
echo "(example-client.payments.internal), reporting-job.crt/.key (CN only), policy.toml"
