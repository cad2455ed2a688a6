#!/usr/bin/env bash
# Starts the mock upstream in the background and the gateway in the foreground.
# Ctrl-C stops both.
set -euo pipefail
config="${1:-conf/llm-relay.yaml}"
mock_listen="${2:-127.0.0.1:9100}"
bin=target/release

"$bin/llm-relay-mock" --listen "$mock_listen" --token-delay-ms "${MOCK_TOKEN_DELAY_MS:-20}" >/tmp/llm-relay-mock.out 2>&1 &
mock_pid=$!
trap 'kill $mock_pid 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 1 50); do
  grep -q "listening on" /tmp/llm-relay-mock.out 2>/dev/null && break
  sleep 0.1
done
echo "mock upstream: $(cat /tmp/llm-relay-mock.out)"
echo "gateway: $config (Ctrl-C to stop)"
"$bin/llm-relay" run --config "$config"
