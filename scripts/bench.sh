#!/usr/bin/env bash
# `make bench`: installs what the benchmark uses and is missing (nginx, wrk; with apt, as
# root), builds release and runs llm-relay-bench, which starts and stops the mock upstream,
# the gateway and nginx itself. Results: bench/results/latest.md (also printed) and
# bench/results/latest.json. See README.md, "Performance". Extra arguments go to
# llm-relay-bench (e.g. `scripts/bench.sh --quick`, `scripts/bench.sh --help`).
#
# The whole of it is to end within ten minutes on a fresh 2-core machine, where the
# profile-guided build alone takes about six: the bench is given what is left of
# BENCH_BUDGET_SECS (570 s, a margin under ten minutes) once the build is done, and
# shortens its visits when its planned run would not fit (`--finish-within`).
# BENCH_BUDGET_SECS=0 leaves the visits as set.
set -euo pipefail
started=$SECONDS
cd "$(dirname "$0")/.."
scripts/setup.sh

missing=()
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then missing+=(nginx); fi
if ! command -v wrk >/dev/null 2>&1; then missing+=(wrk); fi
# The HTTPS runs' throwaway certificates (scripts/test-certs.sh).
if ! command -v openssl >/dev/null 2>&1; then missing+=(openssl); fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bench: installing ${missing[*]}" >&2
    # Debian's nginx package starts a system nginx on port 80 after installing; the
    # benchmark runs its own, so service starts are refused during the install.
    # The refusal is taken away again however the script ends.
    policy=/usr/sbin/policy-rc.d
    made_policy=0
    if [ ! -e "$policy" ]; then
      made_policy=1
      trap 'rm -f "$policy"' EXIT
      printf '#!/bin/sh\nexit 101\n' >"$policy"
      chmod +x "$policy"
    fi
    apt-get update -qq >/dev/null 2>&1 || true
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
      echo "bench: could not install ${missing[*]}; going on without" >&2
    fi
    if [ "$made_policy" = 1 ]; then
      rm -f "$policy"
      trap - EXIT
    fi
  else
    echo "bench: ${missing[*]} not installed: the nginx comparison (nginx), the load generator's" >&2
    echo "bench: cross-check (wrk) and the HTTPS runs (openssl) are skipped as they lack them." >&2
    echo "bench: Install with: sudo apt-get install ${missing[*]}" >&2
  fi
fi

# A thousand concurrent streams need ~2,100 descriptors in the gateway.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 4096 ]; then
  echo "bench: warning: open-file limit $(ulimit -n) is low for the concurrent-streams test" >&2
fi

scripts/build-release.sh --bins
budget=${BENCH_BUDGET_SECS:-570}
if ! [[ "$budget" =~ ^[0-9]+$ ]]; then
  echo "bench: BENCH_BUDGET_SECS must be a whole number of seconds (0: no limit), not '$budget'" >&2
  exit 2
fi
within=()
if [ "$budget" != 0 ]; then
  spent=$((SECONDS - started))
  left=$((budget > spent ? budget - spent : 0))
  within=("--finish-within=$left")
  echo "bench: $spent s spent on set-up and build; the bench is given $left s" >&2
fi
# Arguments given to this script come last: a --finish-within among them wins.
exec target/release/llm-relay-bench --bin-dir target/release --out bench/results ${within[@]+"${within[@]}"} "$@"
