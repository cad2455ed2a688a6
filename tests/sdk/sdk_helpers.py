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
    upstream_path: str  # path the mock must see
    upstream_model: str  # model the mock must see (after model_map)
    translated: bool

    @property
    def upstream_dialect(self) -> str:
        return "anthropic" if self.upstream_path == "/v1/messages" else "openai"


# Anthropic SDK routes.
A_PASS = Route("claude-sdk-test", "/v1/messages", "claude-sdk-test", translated=False)
A_XLATE = Route("translated-claude-x", "/v1/chat/completions", "gpt-4o", translated=True)
# OpenAI SDK routes.
O_PASS = Route("gpt-sdk-test", "/v1/chat/completions", "gpt-sdk-test", translated=False)
O_XLATE = Route("translated-gpt-x", "/v1/messages", "claude-sonnet-4-5", translated=True)

ANTHROPIC_ROUTES = [
    pytest.param(A_PASS, id="passthrough-anthropic-upstream"),
    pytest.param(A_XLATE, id="translated-openai-upstream"),
]
OPENAI_ROUTES = [
    pytest.param(O_PASS, id="passthrough-openai-upstream"),
    pytest.param(O_XLATE, id="translated-anthropic-upstream"),
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


def user(text: str) -> dict:
    return {"role": "user", "content": text}


# --------------------------------------------------------------------------
# The mock's request log


def _get_json(url: str):
    with urllib.request.urlopen(url, timeout=5.0) as r:
        return json.loads(r.read())


def mock_requests(stack) -> list[dict]:
    """Requests the mock received (API calls only), oldest first."""
    return [
        e
        for e in _get_json(stack.mock_url + "/_mock/requests")
        if e["path"] in ("/v1/messages", "/v1/chat/completions")
    ]


def mock_total(stack) -> int:
    return int(_get_json(stack.mock_url + "/_mock/stats")["total"])


def last_upstream(stack) -> dict:
    reqs = mock_requests(stack)
    assert reqs, "the mock received no API request"
    return reqs[-1]


def upstream_body(entry: dict) -> dict:
    return json.loads(entry["body"])


def mock_input_tokens(entry: dict) -> int:
    """The mock's uncached input-token count for a request: body bytes / 4."""
    return len(entry["body"].encode("utf-8")) // 4


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
