#!/usr/bin/env bash
# The release build (`make release`, `make run`, `make install`, `make bench`):
# `cargo build --release`, profile-guided when the committed profile fits this toolchain.
#
#   scripts/build-release.sh [cargo build args...]     (default: --bins)
#
# pgo/llm-relay.profdata.gz holds the execution counts of the gateway under the SDK
# conformance suite and a few hundred requests over TLS (`make pgo-profile` writes it;
# see README, "Release build").
# LLVM uses them to lay out hot code together and to choose what to inline. The
# profile is used only when pgo/rustc.txt, the `rustc -vV` it was made with, matches
# the current compiler's: function names carry a hash that changes with the compiler,
# and an older LLVM cannot read a newer profile. Otherwise, or with PGO=0, the build is
# plain. Functions changed since the profile was made just get no counts.
#
# Which it was shows in `llm-relay --version`. RUSTFLAGS given by the caller are kept;
# switching between this script and a bare `cargo build --release` rebuilds everything,
# since the flags differ.
set -euo pipefail
cd "$(dirname "$0")/.."

args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--bins)

gz=pgo/llm-relay.profdata.gz
made_with=pgo/rustc.txt
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
flags="${RUSTFLAGS:-}"
build="$version (plain build)"

if [ "${PGO:-1}" = 0 ]; then
  echo "release: PGO=0, plain build" >&2
elif [ ! -f "$gz" ] || [ ! -f "$made_with" ]; then
  echo "release: no profile in pgo/, plain build" >&2
elif [ "$("${RUSTC:-rustc}" -vV)" != "$(cat "$made_with")" ]; then
  echo "release: pgo/llm-relay.profdata.gz was made with rustc $(sed -n 's/^release: //p' "$made_with"), this is" \
    "$("${RUSTC:-rustc}" -vV | sed -n 's/^release: //p'): plain build (make pgo-profile makes one for it)" >&2
else
  sum=$(sha256sum "$gz" | cut -c1-12)
  profile="$PWD/target/pgo/llm-relay-$sum.profdata"
  if [ ! -f "$profile" ]; then
    mkdir -p target/pgo
    gzip -dc "$gz" >"$profile.tmp" && mv "$profile.tmp" "$profile"
  fi
  # The profile's file name carries its hash, so a new profile changes the flags and
  # cargo rebuilds. A function that changed since the profile was made is compiled
  # without counts; LLVM would warn about each one.
  flags="$flags -Cprofile-use=$profile -Cllvm-args=-no-pgo-warn-mismatch"
  build="$version (profile-guided build, profile $sum)"
  made_at=$(head -1 pgo/source.txt 2>/dev/null || true)
  since=$(git rev-list --count "$made_at..HEAD" -- src Cargo.toml Cargo.lock 2>/dev/null || echo "?")
  echo "release: profile-guided build (profile of ${made_at:0:12}; commits to the sources since: $since)" >&2
fi

LLM_RELAY_BUILD="$build" RUSTFLAGS="${flags# }" "${CARGO:-cargo}" build --release "${args[@]}"
