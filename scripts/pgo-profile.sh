#!/usr/bin/env bash
# `make pgo-profile`: records the profile that `make release` builds with
# (pgo/llm-relay.profdata.gz, pgo/rustc.txt, pgo/source.txt). See README, "Release build".
#
# 1. builds the gateway and the mock with LLVM's counters (-Cprofile-generate) into
#    target/pgo-gen (a clean release build: about 7 minutes on two cores);
# 2. runs the SDK conformance suite (tests/sdk: the official Anthropic, OpenAI and
#    Google SDKs in every dialect, streaming and not, tools, thinking, errors and
#    failover) against that gateway; only the gateway's counts are kept, not the mock's;
#    then sends 320 requests over TLS (scripts/test-certs.sh; needs openssl, curl and
#    python3) to a gateway serving HTTPS over HTTP/1.1 and HTTP/2 whose channels reach
#    the mock through a second gateway terminating TLS, so that the TLS listener and
#    the TLS client to upstreams are counted too;
# 3. merges the counts with llvm-profdata (functions never run are left out) and
#    writes them gzipped, with the `rustc -vV` they belong to and the commit counted.
#
# Needs llvm-profdata of the LLVM that rustc was built with (`rustc -vV`, "LLVM
# version"): `rustup component add llvm-tools`, or Debian's llvm-NN package.
# Re-run it after changes to hot code or a compiler update.
set -euo pipefail
cd "$(dirname "$0")/.."

rustc="${RUSTC:-rustc}"
major=$("$rustc" -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
candidates=(
  "$("$rustc" --print sysroot)/lib/rustlib/$("$rustc" -vV | sed -n 's/^host: //p')/bin/llvm-profdata"
  "/usr/lib/llvm-$major/bin/llvm-profdata"
  "$(command -v "llvm-profdata-$major" || true)"
)
profdata=""
for c in "${candidates[@]}"; do
  if [ -n "$c" ] && [ -x "$c" ] && "$c" --version 2>/dev/null | grep -q "LLVM version $major\."; then
    profdata=$c
    break
  fi
done
if [ -z "$profdata" ]; then
  echo "pgo-profile: llvm-profdata of LLVM $major not found." >&2
  echo "pgo-profile: install it with 'rustup component add llvm-tools' or 'apt-get install llvm-$major'." >&2
  exit 1
fi

gen=target/pgo-gen
raw="$PWD/$gen/raw"
rm -rf "$raw"
mkdir -p "$raw"
echo "pgo-profile: building with counters into $gen" >&2
RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-generate=$raw" "${CARGO:-cargo}" build --release --bins --target-dir "$gen"

# A wrapper sends the mock's counts to /dev/null.
mock="$PWD/$gen/mock-without-profile"
printf '#!/bin/sh\nLLVM_PROFILE_FILE=/dev/null exec %q "$@"\n' "$PWD/$gen/release/llm-relay-mock" >"$mock"
chmod +x "$mock"

echo "pgo-profile: running the SDK suite against the counting gateway" >&2
LLVM_PROFILE_FILE="$raw/gateway-%p.profraw" \
  LLM_RELAY_BIN="$PWD/$gen/release/llm-relay" LLM_RELAY_MOCK_BIN="$mock" \
  bash tests/sdk/run.sh -q

# The TLS leg: client → gateway (HTTPS) → gateway (HTTPS) → mock, both gateways counting.
tls_dir=$(mktemp -d)
tls_pids=()
stop_tls() {
  for p in "${tls_pids[@]}"; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$tls_dir"
}
trap stop_tls EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
scripts/test-certs.sh "$tls_dir"
mock_port=$(free_port) front_port=$(free_port) gw_port=$(free_port)
"$mock" --listen "127.0.0.1:$mock_port" --threads 1 >"$tls_dir/mock.log" 2>&1 &
tls_pids+=($!)
serve() { # NAME PORT UPSTREAM EXTRA
  cat >"$tls_dir/$1.yaml" <<EOF
server:
  listen: ["127.0.0.1:$2"]
  threads: 2
  grace_period_secs: 1
  upgrade_sock: "$tls_dir/$1.upgrade.sock"
  pid_file: "$tls_dir/$1.pid"
  tls: {cert: "$tls_dir/leaf.crt", key: "$tls_dir/leaf.key"}
access_keys:
  - {name: anthropic, key: "k-anthropic"}
  - {name: openai, key: "k-openai"}
channels:
  - {name: anth, protocol: anthropic, base_url: "$3", keys: ["k-anthropic"], models: ["claude-*"]$4}
  - {name: oai, protocol: openai, base_url: "$3", keys: ["k-openai"], models: ["gpt-*"]$4}
  - {name: claude-on-openai, protocol: openai, base_url: "$3", keys: ["k-openai"], models: ["tr-claude-*"], model_map: {"tr-claude-*": "gpt-4o"}$4}
  - {name: gpt-on-anthropic, protocol: anthropic, base_url: "$3", keys: ["k-anthropic"], models: ["tr-gpt-*"], model_map: {"tr-gpt-*": "claude-sonnet-4-5"}$4}
EOF
  LLVM_PROFILE_FILE="$raw/gateway-%p.profraw" RUST_LOG=warn "$gen/release/llm-relay" run -c "$tls_dir/$1.yaml" \
    >"$tls_dir/$1.log" 2>&1 &
  tls_pids+=($!)
}
serve front "$front_port" "http://127.0.0.1:$mock_port" ""
serve gw "$gw_port" "https://127.0.0.1:$front_port" ", ca_file: \"$tls_dir/ca.crt\""
for name_port in "front:$front_port" "gw:$gw_port"; do
  name=${name_port%%:*} port=${name_port#*:}
  ready=0
  for _ in $(seq 1 100); do
    curl -sf --cacert "$tls_dir/ca.crt" -o /dev/null "https://127.0.0.1:$port/health" && ready=1 && break
    sleep 0.2
  done
  if [ "$ready" = 0 ]; then
    echo "pgo-profile: the $name gateway did not answer on port $port; its log:" >&2
    tail -20 "$tls_dir/$name.log" >&2
    exit 1
  fi
done
echo "pgo-profile: sending requests over TLS" >&2
text="Write a haiku about a gateway, then say in one sentence why latency matters."
for http in --http1.1 --http2; do
  for model in claude-sonnet-4-5 tr-claude-sonnet-4-5 gpt-4o tr-gpt-4o; do
    for stream in false true; do
      case "$model" in
        *claude*)
          path=/v1/messages key=(-H "x-api-key: k-anthropic" -H "anthropic-version: 2023-06-01")
          body="{\"model\":\"$model\",\"max_tokens\":256,\"stream\":$stream,\"messages\":[{\"role\":\"user\",\"content\":\"$text\"}]}"
          ;;
        *)
          path=/v1/chat/completions key=(-H "authorization: Bearer k-openai")
          body="{\"model\":\"$model\",\"stream\":$stream,\"messages\":[{\"role\":\"user\",\"content\":\"$text\"}]}"
          ;;
      esac
      url="https://127.0.0.1:$gw_port$path"
      # One connection, twenty requests: curl repeats the POST for every URL given.
      curl -sSf "$http" -N --cacert "$tls_dir/ca.crt" "${key[@]}" -H "content-type: application/json" \
        -d "$body" $(printf "$url %.0s" $(seq 1 20)) >/dev/null
    done
  done
done
stop_tls
trap - EXIT

ls "$raw"/gateway-*.profraw >/dev/null
# A gateway stopped while it wrote its counts leaves an empty file, and the profile would
# quietly lack that leg (the SDK suite's, once).
empty=$(find "$raw" -name 'gateway-*.profraw' -empty)
if [ -n "$empty" ]; then
  echo "pgo-profile: a gateway's counts were not written ($empty): run it again" >&2
  exit 1
fi
mkdir -p pgo
"$profdata" merge --sparse -o "$gen/llm-relay.profdata" "$raw"/gateway-*.profraw
gzip -9 -n -c "$gen/llm-relay.profdata" >pgo/llm-relay.profdata.gz
"$rustc" -vV >pgo/rustc.txt
# The commit whose gateway was counted, for `make release` to say how old the profile is.
{
  git rev-parse HEAD
  if [ -n "$(git status --porcelain --untracked-files=no -- src Cargo.toml Cargo.lock)" ]; then
    echo "with uncommitted changes to the sources"
  fi
} >pgo/source.txt
echo "pgo-profile: wrote pgo/llm-relay.profdata.gz ($(wc -c <pgo/llm-relay.profdata.gz) bytes) for $(grep '^release:' pgo/rustc.txt)" >&2
