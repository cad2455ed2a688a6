#!/usr/bin/env bash
# `make pgo-profile`: records the profile that `make release` builds with
# (pgo/llm-relay.profdata.gz, pgo/rustc.txt, pgo/source.txt). See README, "Release build".
#
# 1. builds the gateway and the mock with LLVM's counters (-Cprofile-generate) into
#    target/pgo-gen (a clean release build: about 7 minutes on two cores);
# 2. runs the SDK conformance suite (tests/sdk: the official Anthropic, OpenAI and
#    Google SDKs in every dialect, streaming and not, tools, thinking, errors and
#    failover) against that gateway; only the gateway's counts are kept, not the mock's;
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
RUSTFLAGS="-Cprofile-generate=$raw" "${CARGO:-cargo}" build --release --bins --target-dir "$gen"

# A wrapper sends the mock's counts to /dev/null.
mock="$PWD/$gen/mock-without-profile"
printf '#!/bin/sh\nLLVM_PROFILE_FILE=/dev/null exec %q "$@"\n' "$PWD/$gen/release/llm-relay-mock" >"$mock"
chmod +x "$mock"

echo "pgo-profile: running the SDK suite against the counting gateway" >&2
LLVM_PROFILE_FILE="$raw/gateway-%p.profraw" \
  LLM_RELAY_BIN="$PWD/$gen/release/llm-relay" LLM_RELAY_MOCK_BIN="$mock" \
  bash tests/sdk/run.sh -q

ls "$raw"/gateway-*.profraw >/dev/null
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
