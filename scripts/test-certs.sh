#!/usr/bin/env bash
# Writes a throwaway CA and a certificate it signs for 127.0.0.1 and localhost (P-256,
# valid two days) into DIR: ca.crt, leaf.crt, leaf.key. For loopback TLS in
# scripts/instructions.sh --tls, scripts/pgo-profile.sh and llm-relay-bench's HTTPS runs.
# Needs openssl.
#
#   scripts/test-certs.sh DIR
set -euo pipefail
dir=${1:?usage: scripts/test-certs.sh DIR}
command -v openssl >/dev/null || { echo "test-certs: openssl is missing: apt-get install openssl" >&2; exit 1; }
mkdir -p "$dir"
# openssl reports progress on stderr: shown only when a step fails.
run() {
    "$@" 2>"$dir/openssl.log" || { echo "test-certs: $* failed:" >&2; cat "$dir/openssl.log" >&2; exit 1; }
}
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
run openssl req -x509 "${ec[@]}" -days 2 -subj "/CN=llm-relay test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt"
run openssl req "${ec[@]}" -subj "/CN=127.0.0.1" -keyout "$dir/leaf.key" -out "$dir/leaf.csr"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >"$dir/leaf.ext"
run openssl x509 -req -in "$dir/leaf.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 2 -extfile "$dir/leaf.ext" -out "$dir/leaf.crt"
