#!/usr/bin/env bash
# Runs `systemd-analyze verify` on deploy/llm-relay.service against a built binary
# (the unit names /usr/local/bin/llm-relay, which need not exist here).
set -euo pipefail
bin="${1:?usage: verify-unit.sh PATH-TO-llm-relay}"
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "systemd-analyze not installed (apt-get install systemd); skipped"
  exit 0
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s#/usr/local/bin/llm-relay#$(realpath "$bin")#g" "$(dirname "$0")/llm-relay.service" > "$dir/llm-relay.service"
SYSTEMD_LOG_LEVEL=notice systemd-analyze verify "$dir/llm-relay.service"
echo "systemd-analyze verify: ok"
