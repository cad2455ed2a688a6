"""Shared constants and helpers for the SDK conformance tests."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass

import pytest

# The key clients present to the gateway (configured as access key "sdk").
ACCESS_KEY = "sdk-test-key-0123456789"

HELLO = "Hello from mock."
HELLO_DELTAS = ["Hello", " from", " mock."]
CACHED_TOKENS = 3  # the mock reports 3 cached input tokens on every answer
TOOL_ARGS = {"city": "Paris", "unit": "c"}
THINKING = "Let me think."
THINKING_DELTAS = ["Let me", " think."]
SIGNATURE = "sig_mock_1"


@dataclass(frozen=True)
class Route:
    """A client model name and what the gateway must do with it."""

    model: str
    upstream_path: str  # path the mock must see (Gemini: `/v1beta/models/MODEL`, the method follows)
    upstream_model: str  # model the mock must see (after model_map)
    translated: bool

    @property
    def upstream_dialect(self) -> str:
        """anthropic | openai | responses | gemini: the upstream protocol."""
        return upstream_dialect_of(self.upstream_path)

    def path_for(self, stream: bool) -> str:
        """The exact path the mock must see for a stream or non-stream call."""
        if self.upstream_dialect == "gemini":
            return f"{self.upstream_path}:{'streamGenerateContent' if stream else 'generateContent'}"
        return self.upstream_path


def upstream_dialect_of(path: str) -> str:
    if path == "/v1/messages":
        return "anthropic"
    if path == "/v1/chat/completions":
        return "openai"
    if path == "/v1/responses":
        return "responses"
    if path.startswith("/v1beta/models/"):
        return "gemini"
    raise AssertionError(f"not an upstream API path: {path}")


# Upstream model names of the translating channels (conftest.py).
ANTHROPIC_UP = "claude-sonnet-4-5"
OPENAI_UP = "gpt-4o"
RESPONSES_UP = "gpt-4.1"
GEMINI_UP = "gemini-2.5-flash"
_GEMINI_PATH = "/v1beta/models/"

# Anthropic SDK routes.
A_PASS = Route("claude-sdk-test", "/v1/messages", "claude-sdk-test", translated=False)
A_XLATE = Route("translated-claude-x", "/v1/chat/completions", "gpt-4o", translated=True)
A_RESP = Route("rtr-claude-x", "/v1/responses", RESPONSES_UP, translated=True)
A_GEM = Route("gtr-claude-x", _GEMINI_PATH + GEMINI_UP, GEMINI_UP, translated=True)
# OpenAI SDK (Chat Completions) routes.
O_PASS = Route("gpt-sdk-test", "/v1/chat/completions", "gpt-sdk-test", translated=False)
O_XLATE = Route("translated-gpt-x", "/v1/messages", "claude-sonnet-4-5", translated=True)
O_RESP = Route("rtr-gpt-x", "/v1/responses", RESPONSES_UP, translated=True)
O_GEM = Route("gtr-gpt-x", _GEMINI_PATH + GEMINI_UP, GEMINI_UP, translated=True)
# OpenAI SDK (Responses API) routes.
R_PASS = Route("resp-sdk-test", "/v1/responses", "resp-sdk-test", translated=False)
R_ANTH = Route("atr-resp-x", "/v1/messages", ANTHROPIC_UP, translated=True)
R_CHAT = Route("otr-resp-x", "/v1/chat/completions", OPENAI_UP, translated=True)
R_GEM = Route("gtr-resp-x", _GEMINI_PATH + GEMINI_UP, GEMINI_UP, translated=True)
# google-genai SDK routes.
G_PASS = Route("gemini-sdk-test", _GEMINI_PATH + "gemini-sdk-test", "gemini-sdk-test", translated=False)
G_ANTH = Route("atr-gemini-x", "/v1/messages", ANTHROPIC_UP, translated=True)
G_CHAT = Route("otr-gemini-x", "/v1/chat/completions", OPENAI_UP, translated=True)
G_RESP = Route("rtr-gemini-x", "/v1/responses", RESPONSES_UP, translated=True)

ANTHROPIC_ROUTES = [
    pytest.param(A_PASS, id="passthrough-anthropic-upstream"),
    pytest.param(A_XLATE, id="translated-openai-upstream"),
    pytest.param(A_RESP, id="translated-responses-upstream"),
    pytest.param(A_GEM, id="translated-gemini-upstream"),
]
OPENAI_ROUTES = [
    pytest.param(O_PASS, id="passthrough-openai-upstream"),
    pytest.param(O_XLATE, id="translated-anthropic-upstream"),
    pytest.param(O_RESP, id="translated-responses-upstream"),
    pytest.param(O_GEM, id="translated-gemini-upstream"),
]
RESPONSES_ROUTES = [
    pytest.param(R_PASS, id="passthrough-responses-upstream"),
    pytest.param(R_ANTH, id="translated-anthropic-upstream"),
    pytest.param(R_CHAT, id="translated-openai-upstream"),
    pytest.param(R_GEM, id="translated-gemini-upstream"),
]
GEMINI_ROUTES = [
    pytest.param(G_PASS, id="passthrough-gemini-upstream"),
    pytest.param(G_ANTH, id="translated-anthropic-upstream"),
    pytest.param(G_CHAT, id="translated-openai-upstream"),
    pytest.param(G_RESP, id="translated-responses-upstream"),
]
STREAM = [pytest.param(False, id="nonstream"), pytest.param(True, id="stream")]

# Tool declarations in both dialects (same names and schemas).
_WEATHER_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "unit": {"type": "string", "enum": ["c", "f"]},
    },
    "required": ["city"],
}
_FORECAST_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}
ANTHROPIC_TOOLS = [
    {"name": "get_weather", "description": "Current weather in a city.", "input_schema": _WEATHER_SCHEMA},
    {"name": "get_forecast", "description": "Tomorrow's forecast for a city.", "input_schema": _FORECAST_SCHEMA},
]
OPENAI_TOOLS = [
    {
        "type": "function",
        "function": {"name": t["name"], "description": t["description"], "parameters": t["input_schema"]},
    }
    for t in ANTHROPIC_TOOLS
]
# Responses function tools are flat.
RESPONSES_TOOLS = [
    {"type": "function", "name": t["name"], "description": t["description"], "parameters": t["input_schema"]}
    for t in ANTHROPIC_TOOLS
]
WEATHER_SCHEMA = _WEATHER_SCHEMA
FORECAST_SCHEMA = _FORECAST_SCHEMA


def user(text: str) -> dict:
    return {"role": "user", "content": text}


# --------------------------------------------------------------------------
# The mock's request log


def _get_json(url: str):
    with urllib.request.urlopen(url, timeout=5.0) as r:
        return json.loads(r.read())


def _is_api_path(path: str) -> bool:
    if path in ("/v1/messages", "/v1/chat/completions", "/v1/responses"):
        return True
    return path.startswith("/v1beta/models/") and path.endswith(("generateContent", "GenerateContent"))


def mock_requests(stack) -> list[dict]:
    """Requests the mock received (generation calls of every dialect), oldest first."""
    return [e for e in _get_json(stack.mock_url + "/_mock/requests") if _is_api_path(e["path"])]


def mock_total(stack) -> int:
    return int(_get_json(stack.mock_url + "/_mock/stats")["total"])


def last_upstream(stack) -> dict:
    reqs = mock_requests(stack)
    assert reqs, "the mock received no API request"
    return reqs[-1]


def upstream_body(entry: dict) -> dict:
    return json.loads(entry["body"])


def upstream_model(entry: dict) -> str:
    """The model an upstream request asked for: in the body, or in a Gemini path."""
    path = entry["path"]
    if path.startswith("/v1beta/models/"):
        return path[len("/v1beta/models/"):].rsplit(":", 1)[0]
    return upstream_body(entry)["model"]


def upstream_streamed(entry: dict) -> bool:
    """Whether an upstream request asked for a stream (Gemini: the method and `alt=sse`)."""
    path = entry["path"]
    if path.startswith("/v1beta/models/"):
        return path.endswith(":streamGenerateContent")
    return upstream_body(entry).get("stream") is True


def assert_upstream_call(entry: dict, route: Route, stream: bool) -> None:
    """The mock saw the route's endpoint, mapped model and stream mode."""
    assert entry["path"] == route.path_for(stream)
    assert upstream_model(entry) == route.upstream_model
    assert upstream_streamed(entry) is stream
    if route.upstream_dialect == "gemini" and stream:
        assert entry["query"] == "alt=sse"


def mock_input_tokens(entry: dict) -> int:
    """The mock's uncached input-token count for a request: body bytes / 4."""
    return len(entry["body"].encode("utf-8")) // 4


def assert_tools_reached_upstream(entry: dict, route) -> None:
    """The two declared tools arrived in the upstream's own dialect, schemas intact."""
    body = upstream_body(entry)
    tools = body["tools"]
    names = ["get_weather", "get_forecast"]
    if route.upstream_dialect == "openai":
        assert [t["type"] for t in tools] == ["function", "function"]
        assert [t["function"]["name"] for t in tools] == names
        assert tools[0]["function"]["parameters"] == WEATHER_SCHEMA
        assert tools[1]["function"]["parameters"] == FORECAST_SCHEMA
    elif route.upstream_dialect == "responses":
        # Flat function tools.
        assert [t["type"] for t in tools] == ["function", "function"]
        assert [t["name"] for t in tools] == names
        assert tools[0]["parameters"] == WEATHER_SCHEMA
        assert tools[1]["parameters"] == FORECAST_SCHEMA
    elif route.upstream_dialect == "gemini":
        decls = [d for t in tools for d in t.get("functionDeclarations", [])]
        assert [d["name"] for d in decls] == names
        schema = lambda d: d.get("parametersJsonSchema", d.get("parameters"))  # noqa: E731
        assert schema(decls[0]) == WEATHER_SCHEMA
        assert schema(decls[1]) == FORECAST_SCHEMA
    else:
        assert [t["name"] for t in tools] == names
        assert tools[0]["input_schema"] == WEATHER_SCHEMA
        assert tools[1]["input_schema"] == FORECAST_SCHEMA


def parallel_results_answer(route) -> str:
    """The mock's answer to two tool results (Paris, then Rome). It echoes the
    tool-result text of the last message it receives: OpenAI Chat has one `tool`
    message per result (the last is Rome's); Anthropic (one user message of
    tool_result blocks), Responses (a trailing run of function_call_output items)
    and Gemini (one user turn of functionResponse parts) carry both."""
    if route.upstream_dialect == "openai":
        return "Got tool result: Rome: rainy"
    return "Got tool result: Paris: sunny\nRome: rainy"


def _text_of(content) -> list[str]:
    """Text pieces of a message content in any dialect (string, blocks, parts)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [content] if content else []
    out = []
    for part in content:
        if isinstance(part, str):
            out.append(part)
        elif part.get("type") in (None, "text", "input_text", "output_text") and isinstance(part.get("text"), str):
            out.append(part["text"])
    return [t for t in out if t]


def upstream_turns(entry: dict) -> list[tuple[str, str]]:
    """The conversation an upstream request carries, dialect-neutral, in order:
    (`user` | `assistant`, text), (`call`, tool name), (`result`, tool result text).
    System prompts and thinking are left out."""
    body = upstream_body(entry)
    turns: list[tuple[str, str]] = []
    dialect = upstream_dialect_of(entry["path"])
    if dialect == "anthropic":
        for m in body["messages"]:
            if isinstance(m["content"], str):
                turns.append((m["role"], m["content"]))
                continue
            for b in m["content"]:
                if b["type"] == "text":
                    turns.append((m["role"], b["text"]))
                elif b["type"] == "tool_use":
                    turns.append(("call", b["name"]))
                elif b["type"] == "tool_result":
                    turns.append(("result", "\n".join(_text_of(b.get("content")))))
    elif dialect == "openai":
        for m in body["messages"]:
            if m["role"] == "system" or m["role"] == "developer":
                continue
            if m["role"] == "tool":
                turns.append(("result", "\n".join(_text_of(m["content"]))))
                continue
            turns.extend((m["role"], t) for t in _text_of(m.get("content")))
            turns.extend(("call", c["function"]["name"]) for c in m.get("tool_calls") or [])
    elif dialect == "responses":
        items = body["input"]
        if isinstance(items, str):
            items = [{"role": "user", "content": items}]
        for it in items:
            kind = it.get("type", "message")
            if kind == "message" and it["role"] in ("user", "assistant"):
                turns.extend((it["role"], t) for t in _text_of(it["content"]))
            elif kind == "function_call":
                turns.append(("call", it["name"]))
            elif kind == "function_call_output":
                out = it["output"]
                turns.append(("result", out if isinstance(out, str) else "\n".join(_text_of(out))))
    else:
        for c in body["contents"]:
            role = "assistant" if c.get("role") == "model" else "user"
            for p in c["parts"]:
                if "text" in p and not p.get("thought") and p["text"]:
                    turns.append((role, p["text"]))
                elif "functionCall" in p:
                    turns.append(("call", p["functionCall"]["name"]))
                elif "functionResponse" in p:
                    resp = p["functionResponse"].get("response", {})
                    out = resp.get("output", resp)
                    turns.append(("result", out if isinstance(out, str) else json.dumps(out)))
    return turns


def text_deltas_anthropic(events) -> list[str]:
    return [
        e.delta.text
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "text_delta"
    ]


def text_deltas_openai(chunks) -> list[str]:
    out = []
    for c in chunks:
        for ch in c.choices:
            if ch.delta.content:
                out.append(ch.delta.content)
    return out
