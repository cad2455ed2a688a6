"""Fixtures for the SDK conformance suite.

One session-scoped fixture starts the scripted upstream mock (`llm-relay-mock`)
and the real gateway (`llm-relay run`) on free loopback ports; the tests then
talk to the gateway with the official `anthropic`, `openai` (Chat Completions
and Responses) and `google-genai` Python SDKs, whose response parsers are the
conformance check.

Binaries: `LLM_RELAY_BIN` (default `target/debug/llm-relay`) and
`LLM_RELAY_MOCK_BIN` (default `target/debug/llm-relay-mock`), relative to the
repository root unless absolute.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import anthropic
import openai
import pytest
from google import genai
from google.genai import types as genai_types

from sdk_helpers import ACCESS_KEY

REPO_ROOT = Path(__file__).resolve().parents[2]

HEALTH_TIMEOUT_S = 10.0
# Generous per-request timeout: a hung gateway fails the test instead of the run.
CLIENT_TIMEOUT_S = 20.0

# Both SDKs normally build response objects without validating them; strict
# validation makes every response, stream event and chunk go through the SDK's
# pydantic models, so a malformed answer from the gateway fails the test.
STRICT = {"_strict_response_validation": True}


def pytest_configure(config: pytest.Config) -> None:
    # The SDKs read credentials, base URLs and extra headers from the
    # environment; none of that may leak into these tests.
    for name in list(os.environ):
        if name.startswith(("ANTHROPIC_", "OPENAI_", "GOOGLE_", "GEMINI_")):
            del os.environ[name]


def _binary(env: str, default: str) -> Path:
    p = Path(os.environ.get(env, default))
    if not p.is_absolute():
        p = REPO_ROOT / p
    return p


def _wait_for_file(p: Path, timeout: float = 10.0) -> None:
    """The binaries may be rebuilt under us; wait briefly for one to reappear."""
    deadline = time.monotonic() + timeout
    while not p.exists():
        if time.monotonic() > deadline:
            pytest.exit(f"binary not found: {p} (build it with `cargo build`)", returncode=2)
        time.sleep(0.2)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kill_group(proc: subprocess.Popen | None) -> None:
    """Stops a process started in its own session, then its whole group.

    SIGINT first: Pingora treats it as a fast shutdown, while SIGTERM starts a
    graceful one that waits out the grace period."""
    if proc is None or proc.poll() is not None:
        return
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        return
    for sig, wait in ((signal.SIGINT, 3.0), (signal.SIGTERM, 3.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            # Reap anything else left in the group.
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(path: Path, start: int = 0, limit: int = 20000) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace")
    if len(text) > limit:
        text = "...\n" + text[-limit:]
    return text


@dataclass
class Stack:
    gateway_url: str  # http://127.0.0.1:PORT
    mock_url: str
    gateway_stderr: Path
    mock_stderr: Path
    config_path: Path


def _start_mock(tmp: Path) -> tuple[subprocess.Popen, str, Path]:
    mock_bin = _binary("LLM_RELAY_MOCK_BIN", "target/debug/llm-relay-mock")
    _wait_for_file(mock_bin)
    stderr_path = tmp / "mock.stderr"
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen(
            [str(mock_bin), "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    assert proc.stdout is not None
    line = proc.stdout.readline().decode("utf-8", "replace").strip()
    prefix = "listening on "
    if not line.startswith(prefix):
        _kill_group(proc)
        pytest.exit(
            f"llm-relay-mock did not announce its address (got {line!r}); "
            f"stderr:\n{_tail(stderr_path)}",
            returncode=2,
        )
    addr = line[len(prefix):]
    return proc, f"http://{addr}", stderr_path


def _write_config(path: Path, port: int, mock_url: str, tag: str) -> None:
    """The gateway config; `tag` makes the upgrade socket and pid file unique.

    Every channel is the mock. Same-dialect channels: `claude-*` (anthropic),
    `gpt-*` (openai), `resp-*` (responses), `gemini-*` (gemini). Translating
    channels, named by the upstream protocol they reach from any client dialect:
    `atr-*` → anthropic, `otr-*` → openai, `rtr-*` → responses, `gtr-*` →
    gemini (e.g. `gtr-claude-x` is the Anthropic SDK on a Gemini upstream), plus
    the original `translated-claude-*` (openai) and `translated-gpt-*`
    (anthropic). Each channel has its own key, so tests can tell them apart."""
    # JSON-style flow mappings are valid YAML; quoting every string keeps it exact.
    path.write_text(
        f"""\
server:
  listen: ["127.0.0.1:{port}"]
  threads: 2
  stream_keepalive_ms: 400
  upgrade_sock: "{path.parent}/gw-{tag}.sock"
  pid_file: "{path.parent}/gw-{tag}.pid"
access_keys:
  - {{name: sdk, key: "{ACCESS_KEY}"}}
channels:
  - {{name: anthropic-up, protocol: anthropic, base_url: "{mock_url}", keys: ["sk-ant-test-000000001"], models: ["claude-*"]}}
  - {{name: openai-up, protocol: openai, base_url: "{mock_url}", keys: ["sk-oai-test-000000002"], models: ["gpt-*"]}}
  - {{name: claude-via-openai, protocol: openai, base_url: "{mock_url}", keys: ["sk-oai-test-000000003"], models: ["translated-claude-*"], model_map: {{"translated-claude-*": "gpt-4o"}}}}
  - {{name: gpt-via-anthropic, protocol: anthropic, base_url: "{mock_url}", keys: ["sk-ant-test-000000004"], models: ["translated-gpt-*"], model_map: {{"translated-gpt-*": "claude-sonnet-4-5"}}}}
  - {{name: responses-up, protocol: responses, base_url: "{mock_url}", keys: ["sk-rsp-test-000000005"], models: ["resp-*"]}}
  - {{name: gemini-up, protocol: gemini, base_url: "{mock_url}", keys: ["gm-test-key-000000006"], models: ["gemini-*"]}}
  - {{name: via-anthropic, protocol: anthropic, base_url: "{mock_url}", keys: ["sk-ant-test-000000007"], models: ["atr-*"], model_map: {{"atr-*": "claude-sonnet-4-5"}}}}
  - {{name: via-openai, protocol: openai, base_url: "{mock_url}", keys: ["sk-oai-test-000000008"], models: ["otr-*"], model_map: {{"otr-*": "gpt-4o"}}}}
  - {{name: via-responses, protocol: responses, base_url: "{mock_url}", keys: ["sk-rsp-test-000000009"], models: ["rtr-*"], model_map: {{"rtr-*": "gpt-4.1"}}}}
  - {{name: via-gemini, protocol: gemini, base_url: "{mock_url}", keys: ["gm-test-key-000000010"], models: ["gtr-*"], model_map: {{"gtr-*": "gemini-2.5-flash"}}}}
"""
    )


def _health_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=1.0) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _start_gateway(tmp: Path, mock_url: str) -> tuple[subprocess.Popen, str, Path, Path]:
    gw_bin = _binary("LLM_RELAY_BIN", "target/debug/llm-relay")
    stderr_path = tmp / "gateway.stderr"
    last_err = ""
    # A port picked by _free_port can be taken before the gateway binds it; retry.
    for attempt in range(3):
        _wait_for_file(gw_bin)
        tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        port = _free_port()
        config_path = tmp / f"gateway-{attempt}.yaml"
        _write_config(config_path, port, mock_url, tag)
        env = dict(os.environ)
        env.setdefault("RUST_LOG", "info")
        with open(stderr_path, "ab") as err:
            proc = subprocess.Popen(
                [str(gw_bin), "run", "--config", str(config_path)],
                stdout=err,
                stderr=err,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=tmp,
                env=env,
            )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if _health_ok(url):
                return proc, url, stderr_path, config_path
            time.sleep(0.05)
        last_err = _tail(stderr_path)
        _kill_group(proc)
    pytest.exit(
        f"llm-relay did not answer GET /health with 200 within {HEALTH_TIMEOUT_S}s; "
        f"stderr:\n{last_err}",
        returncode=2,
    )
    raise AssertionError("unreachable")


# The gateway's stderr file, for the failure report hook below.
_STACK: Stack | None = None


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> Stack:
    """The mock upstream and the gateway in front of it, for the whole session.

    Their logs, config, pid file and upgrade socket live in one temporary
    directory under /tmp, removed at the end unless a test failed."""
    global _STACK
    tmp = Path(tempfile.mkdtemp(prefix="llm-relay-sdk-"))
    mock = gw = None
    try:
        mock, mock_url, mock_err = _start_mock(tmp)
        gw, gw_url, gw_err, cfg = _start_gateway(tmp, mock_url)
        _STACK = Stack(gw_url, mock_url, gw_err, mock_err, cfg)
        yield _STACK
    finally:
        _STACK = None
        _kill_group(gw)
        _kill_group(mock)
        if mock is not None and mock.stdout is not None:
            mock.stdout.close()
        if request.session.testsfailed:
            print(f"\nllm-relay SDK suite: logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(autouse=True)
def _gateway_log_offset(request: pytest.FixtureRequest) -> None:
    """Remember where the gateway's stderr was when the test started."""
    if _STACK is not None:
        try:
            request.node._gw_log_offset = _STACK.gateway_stderr.stat().st_size
        except OSError:
            pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed and _STACK is not None:
        start = getattr(item, "_gw_log_offset", 0)
        text = _tail(_STACK.gateway_stderr, start)
        if text:
            rep.sections.append(("gateway stderr (during this test)", text))


# --------------------------------------------------------------------------
# SDK clients


@pytest.fixture(scope="session")
def anthropic_client(stack: Stack) -> anthropic.Anthropic:
    """Anthropic SDK, key sent as `x-api-key`."""
    c = anthropic.Anthropic(
        api_key=ACCESS_KEY, base_url=stack.gateway_url, max_retries=0, timeout=CLIENT_TIMEOUT_S, **STRICT
    )
    yield c
    c.close()


@pytest.fixture(scope="session")
def anthropic_bearer_client(stack: Stack) -> anthropic.Anthropic:
    """Anthropic SDK, key sent as `Authorization: Bearer`."""
    c = anthropic.Anthropic(
        auth_token=ACCESS_KEY, base_url=stack.gateway_url, max_retries=0, timeout=CLIENT_TIMEOUT_S, **STRICT
    )
    yield c
    c.close()


@pytest.fixture(scope="session")
def openai_client(stack: Stack) -> openai.OpenAI:
    c = openai.OpenAI(
        api_key=ACCESS_KEY,
        base_url=stack.gateway_url + "/v1",
        max_retries=0,
        timeout=CLIENT_TIMEOUT_S,
        **STRICT,
    )
    yield c
    c.close()


@pytest.fixture(scope="session")
def genai_client(stack: Stack) -> genai.Client:
    """google-genai SDK (Gemini Developer API mode), key sent as `x-goog-api-key`.

    The SDK's default API version is used (`v1`: `/v1/models/{model}:generateContent`).
    It has no strict mode, but parses every response and chunk into its pydantic
    models (wrong types fail); it does not retry unless told to."""
    c = genai.Client(
        api_key=ACCESS_KEY,
        http_options=genai_types.HttpOptions(base_url=stack.gateway_url, timeout=int(CLIENT_TIMEOUT_S * 1000)),
    )
    yield c
    c.close()
