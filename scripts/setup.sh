#!/usr/bin/env bash
# Installs what a build needs and is missing: cmake (Pingora's zlib-ng build uses it).
set -euo pipefail
if ! command -v cmake >/dev/null 2>&1; then
  echo "setup: installing cmake (needed to build Pingora)" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq cmake >/dev/null
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo is missing; install Rust from https://rustup.rs" >&2
  exit 1
fi
