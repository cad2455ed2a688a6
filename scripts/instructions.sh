#!/usr/bin/env bash
# Instructions per request of a gateway binary, counted by callgrind: a figure that does
# not move with the machine's load, for comparing two builds of the gateway where
# throughput runs on a shared 2-core VM differ by more than the change being measured.
#
#   scripts/instructions.sh [--large] [--tls | --h2] [BINARY] [ROUTE]...
#
# BINARY defaults to target/release/llm-relay (the mock is taken from next to it).
# --large sends the bench's 80 KiB request of each route (written by llm-relay-bench
# --write-bodies, also taken from next to BINARY) instead of the small one.
# ROUTE is one of anthropic-anthropic, anthropic-openai, openai-openai, openai-anthropic
# (default: all four). For each route the gateway runs under valgrind with instrumentation
# off; four connections send the bench's small request for 2 s to warm up, then
# instrumentation is switched on for 5 s of requests, and the instructions the whole
# process executed in that window are divided by the requests wrk counted.
#
# --tls serves the gateway over HTTPS and puts it behind HTTPS too: its channels reach the
# mock through a second instance of BINARY (not counted) that terminates TLS, as an
# upstream such as api.anthropic.com would; certificates come from scripts/test-certs.sh.
# wrk keeps its connections, so this counts the record layer, not the handshakes.
#
# --h2 is --tls with HTTP/2 clients: h2load (four connections, one request at a time on
# each, as the bench's HTTP/2 rows send them) instead of wrk.
#
# Needs valgrind and wrk (apt-get install valgrind wrk), openssl for --tls and --h2, and
# h2load for --h2 (apt-get install nghttp2-client).
# Everything listens on loopback.
set -euo pipefail

large=0
tls=0
h2=0
while [ $# -gt 0 ]; do
    case "$1" in
        --large) large=1 ;;
        --tls) tls=1 ;;
        --h2) tls=1 h2=1 ;;
        *) break ;;
    esac
    shift
done
# The binary is optional: a first argument naming a route starts the routes.
case "${1:-}" in
    "" | anthropic-* | openai-*) bin=$(realpath target/release/llm-relay) ;;
    *) bin=$(realpath "$1") && shift ;;
esac
routes=("$@")
[ -x "$bin" ] || { echo "$bin is not an executable gateway; usage: $0 [--large] [--tls | --h2] [BINARY] [ROUTE]..." >&2; exit 1; }
if [ "$h2" = 1 ] && ! command -v h2load >/dev/null; then
    echo "h2load is missing: apt-get install nghttp2-client" >&2
    exit 1
fi
[ ${#routes[@]} -gt 0 ] || routes=(anthropic-anthropic anthropic-openai openai-openai openai-anthropic)
for tool in valgrind callgrind_control wrk curl python3; do
    command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install valgrind wrk curl python3" >&2; exit 1; }
done
mock="$(dirname "$bin")/llm-relay-mock"
[ -x "$mock" ] || { echo "$mock not found: cargo build --release --bins" >&2; exit 1; }
bench="$(dirname "$bin")/llm-relay-bench"
if [ "$large" = 1 ] && [ ! -x "$bench" ]; then
    echo "$bench not found: cargo build --release --bins" >&2
    exit 1
fi

dir=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do
        kill -9 "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$dir"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Waits for /health on PORT; LOG is shown if it never answers.
wait_ready() {
    for _ in $(seq 1 100); do
        curl -sf "${curl_tls[@]}" -o /dev/null "$scheme://127.0.0.1:$1/health" && return 0
        sleep 0.3
    done
    echo "no answer on port $1 after 30 s; $2:" >&2
    tail -20 "$2" >&2
    exit 1
}
mock_port=$(free_port)
"$mock" --listen "127.0.0.1:$mock_port" --threads 1 >"$dir/mock.log" 2>&1 &
pids+=($!)
gw_port=$(free_port)
up="http://127.0.0.1:$mock_port"
scheme=http
listener=""
up_tls=""
curl_tls=()
if [ "$tls" = 1 ]; then
    "$(dirname "$0")/test-certs.sh" "$dir/tls"
    listener="  tls: {cert: \"$dir/tls/leaf.crt\", key: \"$dir/tls/leaf.key\"}"
    front_port=$(free_port)
    cat >"$dir/front.yaml" <<EOF
server:
  listen: ["127.0.0.1:$front_port"]
  threads: 1
  grace_period_secs: 1
  upgrade_sock: "$dir/front.upgrade.sock"
  pid_file: "$dir/front.pid"
$listener
access_keys:
  - {name: anthropic, key: "k-anthropic"}
  - {name: openai, key: "k-openai"}
channels:
  - {name: anth, protocol: anthropic, base_url: "$up", keys: ["k-anthropic"], models: ["claude-*"]}
  - {name: oai, protocol: openai, base_url: "$up", keys: ["k-openai"], models: ["gpt-*"]}
EOF
    RUST_LOG=warn "$bin" run -c "$dir/front.yaml" >"$dir/front.log" 2>&1 &
    pids+=($!)
    up="https://127.0.0.1:$front_port"
    up_tls=", ca_file: \"$dir/tls/ca.crt\""
    scheme=https
    curl_tls=(--cacert "$dir/tls/ca.crt")
    wait_ready "$front_port" "$dir/front.log"
fi
cat >"$dir/gw.yaml" <<EOF
server:
  listen: ["127.0.0.1:$gw_port"]
  threads: 2
  grace_period_secs: 1
  upgrade_sock: "$dir/gw.upgrade.sock"
  pid_file: "$dir/gw.pid"
$listener
access_keys:
  - {name: bench, key: "bench-access-key"}
channels:
  - {name: anth, protocol: anthropic, base_url: "$up", keys: ["k-anthropic"], models: ["claude-*"]$up_tls}
  - {name: oai, protocol: openai, base_url: "$up", keys: ["k-openai"], models: ["gpt-*"]$up_tls}
  - {name: claude-on-openai, protocol: openai, base_url: "$up", keys: ["k-openai"], models: ["tr-claude-*"], model_map: {"tr-claude-*": "gpt-4o"}$up_tls}
  - {name: gpt-on-anthropic, protocol: anthropic, base_url: "$up", keys: ["k-anthropic"], models: ["tr-gpt-*"], model_map: {"tr-gpt-*": "claude-sonnet-4-5"}$up_tls}
EOF
[ "$large" = 0 ] || "$bench" --write-bodies "$dir/bodies"
text="Write a short haiku about a gateway that translates between two API dialects, then explain in one sentence why latency matters for interactive coding tools."
cat >"$dir/post.lua" <<'EOF'
local f = io.open(os.getenv("BODY"), "r")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["content-type"] = "application/json"
wrk.headers["x-api-key"] = "bench-access-key"
wrk.headers["anthropic-version"] = "2023-06-01"
EOF

for route in "${routes[@]}"; do
    case "$route" in
        anthropic-anthropic) model=claude-sonnet-4-5 path=/v1/messages ;;
        anthropic-openai) model=tr-claude-sonnet-4-5 path=/v1/messages ;;
        openai-openai) model=gpt-4o path=/v1/chat/completions ;;
        openai-anthropic) model=tr-gpt-4o path=/v1/chat/completions ;;
        *) echo "unknown route $route" >&2; exit 1 ;;
    esac
    if [ "$large" = 1 ]; then
        cp "$dir/bodies/$route-80KiB.json" "$dir/body.json"
    elif [ "$path" = /v1/messages ]; then
        printf '{"model":"%s","max_tokens":1024,"messages":[{"role":"user","content":"%s"}]}' "$model" "$text" >"$dir/body.json"
    else
        printf '{"model":"%s","messages":[{"role":"user","content":"%s"}]}' "$model" "$text" >"$dir/body.json"
    fi
    rm -f "$dir"/cg.out*
    RUST_LOG=warn valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$dir/cg.out" \
        "$bin" run -c "$dir/gw.yaml" >"$dir/gw.log" 2>&1 &
    gw=$!
    pids+=($gw)
    wait_ready "$gw_port" "$dir/gw.log"
    url="$scheme://127.0.0.1:$gw_port$path"
    # Sends the route's request for $1 seconds; prints the requests answered, and how
    # many of them not with a 2xx.
    load() {
        if [ "$h2" = 1 ]; then
            local out
            out=$(h2load -c4 -m1 -D "$1" -d "$dir/body.json" -H "content-type: application/json" \
                -H "x-api-key: bench-access-key" -H "anthropic-version: 2023-06-01" "$url")
            awk '/^requests:/{done=$6} /^status codes:/{ok=$3} END {print done + 0, done - ok}' <<<"$out"
        else
            local out
            out=$(BODY="$dir/body.json" wrk -t1 -c4 -d"$1"s -s "$dir/post.lua" "$url")
            awk '/requests in/{n=$1} /Non-2xx/{bad=$NF} END {print n + 0, bad + 0}' <<<"$out"
        fi
    }
    load 2 >/dev/null
    control() {
        callgrind_control "$@" "$gw" >"$dir/control.log" 2>&1 ||
            { echo "callgrind_control $* failed:" >&2; cat "$dir/control.log" >&2; exit 1; }
    }
    control -i on
    read -r requests non2xx < <(load 5)
    control -i off
    control -d
    sleep 1
    kill -9 "$gw" 2>/dev/null || true
    wait "$gw" 2>/dev/null || true
    # Reaped: its number may be reused, so the clean-up must not kill it again.
    keep=()
    for p in "${pids[@]}"; do [ "$p" = "$gw" ] || keep+=("$p"); done
    pids=("${keep[@]}")
    instructions=$(cat "$dir"/cg.out* | awk '/^totals:/{s += $2} END {print s + 0}')
    if [ "${non2xx:-0}" -ne 0 ] || [ "${requests:-0}" -eq 0 ]; then
        echo "$route: requests failed (${non2xx:-0} non-2xx of ${requests:-0}); the gateway's log:" >&2
        tail -20 "$dir/gw.log" >&2
        exit 1
    fi
    echo "$route: $((instructions / requests)) instructions per request ($requests requests)"
done
