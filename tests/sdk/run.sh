#!/usr/bin/env bash
# Runs the SDK conformance suite: the official `anthropic`, `openai` (Chat
# Completions and Responses) and `google-genai` Python SDKs (pinned in
# requirements.txt) against the real gateway and the mock upstream.
#
#   tests/sdk/run.sh [pytest args...]      e.g. tests/sdk/run.sh -k tools -x
#
# Needs only python3 (with its venv module). The virtualenv lives in .venv at the
# repository root and is (re)installed when requirements.txt or the Python
# version changes. Binaries: target/debug/llm-relay and target/debug/llm-relay-mock,
# or LLM_RELAY_BIN / LLM_RELAY_MOCK_BIN; the default ones are built with cargo if
# missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

venv="$root/.venv"
req="$here/requirements.txt"
stamp="$venv/.sdk-requirements.sha256"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

if [[ ! -x "$venv/bin/python" ]]; then
    if ! python3 -m venv "$venv"; then
        echo "run.sh: 'python3 -m venv' failed; install the venv module (Debian: apt-get install python3-venv)" >&2
        exit 1
    fi
fi

want="$( { sha256sum "$req" | cut -d' ' -f1; "$venv/bin/python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"
have="$(cat "$stamp" 2>/dev/null || true)"
if [[ "$want" != "$have" ]]; then
    echo "run.sh: installing $(tr '\n' ' ' <"$req")into .venv" >&2
    "$venv/bin/python" -m pip install --quiet -r "$req"
    echo "$want" >"$stamp"
fi

if [[ -z "${LLM_RELAY_BIN:-}${LLM_RELAY_MOCK_BIN:-}" ]] &&
    [[ ! -x target/debug/llm-relay || ! -x target/debug/llm-relay-mock ]]; then
    if command -v cargo >/dev/null 2>&1; then
        echo "run.sh: building the gateway and the mock (cargo build --bins)" >&2
        cargo build --bins --quiet
    else
        echo "run.sh: target/debug/llm-relay{,-mock} missing and no cargo to build them" >&2
        exit 1
    fi
fi

exec "$venv/bin/python" -m pytest tests/sdk -q "$@"
