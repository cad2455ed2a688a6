"""A coding-agent-sized request (about 87 KB: a long system prompt, twelve tools
with schemas, ten rounds of tool calls with long results) sent by the Anthropic and
OpenAI SDKs on every route, streaming and not: the upstream receives every turn,
tool and string intact, in its own dialect, and the answer comes back.

Request bodies of 4 KiB or more take their own parsing path in the gateway (text
kept as slices of the body's buffer); these are the tests that cross it with real
clients."""

from __future__ import annotations

import json

import pytest

from sdk_helpers import (
    ANTHROPIC_ROUTES,
    HELLO,
    OPENAI_ROUTES,
    STREAM,
    last_upstream,
    text_deltas_anthropic,
    text_deltas_openai,
    upstream_body,
    upstream_turns,
)

ROUNDS = 10
# Strings JSON must escape, and some it must not: quotes, backslashes, tabs and
# newlines, a control character, non-ASCII letters, an emoji and U+2028.
TRICKY = 'He said "run it" \\ then\ttab\nnew line \x01 é 漢字 🚀 \u2028 end'


def _source_file(i: int) -> str:
    lines = [
        f'    let path_{j} = "src/module_{i}/file_{j}.rs"; // {TRICKY if j % 7 == 0 else "plain"}'
        for j in range(60)
    ]
    return f"fn module_{i}() {{\n" + "\n".join(lines) + "\n}\n"


SYSTEM = "\n".join(
    f"Rule {i}: keep edits minimal, explain each change, and never touch files outside the task ({i})."
    for i in range(90)
)
TOOL_NAMES = [f"tool_{i:02d}_{name}" for i, name in enumerate(
    ["read", "write", "edit", "grep", "glob", "bash", "web", "todo", "task", "notebook", "diff", "test"]
)]
SCHEMAS = {
    name: {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": f"File the {name} tool acts on. " * 4},
            "limit": {"type": "integer", "minimum": 1, "maximum": 2000},
            "mode": {"type": "string", "enum": ["fast", "careful", "dry-run"]},
            "options": {
                "type": "object",
                "properties": {"recursive": {"type": "boolean"}, "pattern": {"type": "string"}},
            },
        },
        "required": ["path"],
    }
    for name in TOOL_NAMES
}
DESCRIPTIONS = {name: f"The {name} tool. " + "It does one thing and reports what it did. " * 12 for name in TOOL_NAMES}


def _user_text(i: int) -> str:
    return f"Step {i}: look at module {i} and fix what is wrong. {TRICKY}\n" + "Context line. " * 60


def _call_input(i: int) -> dict:
    return {"path": f"src/module_{i}.rs", "limit": 400 + i, "options": {"recursive": i % 2 == 0, "pattern": TRICKY}}


def _assistant_text(i: int) -> str:
    return f"Module {i} reads the path twice; I changed it to read it once. {TRICKY}"


FINAL = "Now summarise every change."


def _expected_turns() -> list[tuple[str, str]]:
    turns: list[tuple[str, str]] = []
    for i in range(ROUNDS):
        tool = TOOL_NAMES[i % len(TOOL_NAMES)]
        turns += [("user", _user_text(i)), ("call", tool), ("result", _source_file(i)), ("assistant", _assistant_text(i))]
    return turns + [("user", FINAL)]


def _anthropic_request() -> dict:
    messages = []
    for i in range(ROUNDS):
        tool = TOOL_NAMES[i % len(TOOL_NAMES)]
        call_id = f"toolu_{i:02d}"
        messages += [
            {"role": "user", "content": _user_text(i)},
            {"role": "assistant", "content": [{"type": "tool_use", "id": call_id, "name": tool, "input": _call_input(i)}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call_id, "content": _source_file(i)}]},
            {"role": "assistant", "content": _assistant_text(i)},
        ]
    messages.append({"role": "user", "content": FINAL})
    return {
        "max_tokens": 256,
        "system": [
            {"type": "text", "text": SYSTEM},
            {"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}},
        ],
        "tools": [{"name": n, "description": DESCRIPTIONS[n], "input_schema": SCHEMAS[n]} for n in TOOL_NAMES],
        "messages": messages,
    }


def _openai_request() -> dict:
    messages: list[dict] = [{"role": "system", "content": SYSTEM + "\n\n" + SYSTEM}]
    for i in range(ROUNDS):
        tool = TOOL_NAMES[i % len(TOOL_NAMES)]
        call_id = f"call_{i:02d}"
        messages += [
            {"role": "user", "content": _user_text(i)},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": call_id, "type": "function", "function": {"name": tool, "arguments": json.dumps(_call_input(i))}}
                ],
            },
            {"role": "tool", "tool_call_id": call_id, "content": _source_file(i)},
            {"role": "assistant", "content": _assistant_text(i)},
        ]
    messages.append({"role": "user", "content": FINAL})
    return {
        "max_completion_tokens": 256,
        "tools": [
            {"type": "function", "function": {"name": n, "description": DESCRIPTIONS[n], "parameters": SCHEMAS[n]}}
            for n in TOOL_NAMES
        ],
        "messages": messages,
    }


def _tools_upstream(body: dict, dialect: str) -> list[tuple[str, dict]]:
    """(name, schema) of every declared tool, in the upstream's dialect."""
    if dialect == "anthropic":
        return [(t["name"], t["input_schema"]) for t in body["tools"]]
    if dialect == "openai":
        return [(t["function"]["name"], t["function"]["parameters"]) for t in body["tools"]]
    if dialect == "responses":
        return [(t["name"], t["parameters"]) for t in body["tools"]]
    decls = [d for t in body["tools"] for d in t.get("functionDeclarations", [])]
    return [(d["name"], d.get("parametersJsonSchema", d.get("parameters"))) for d in decls]


def _call_inputs_upstream(body: dict, dialect: str) -> list[dict]:
    """The arguments of every tool call in the conversation, parsed."""
    if dialect == "anthropic":
        return [b["input"] for m in body["messages"] if isinstance(m["content"], list) for b in m["content"] if b["type"] == "tool_use"]
    if dialect == "openai":
        return [json.loads(c["function"]["arguments"]) for m in body["messages"] for c in m.get("tool_calls") or []]
    if dialect == "responses":
        return [json.loads(it["arguments"]) for it in body["input"] if it.get("type") == "function_call"]
    return [p["functionCall"]["args"] for c in body["contents"] for p in c["parts"] if "functionCall" in p]


def _check_upstream(stack, route, sent: dict) -> None:
    up = last_upstream(stack)
    assert up["path"] == route.path_for(False) or up["path"] == route.path_for(True)
    assert len(up["body"].encode()) > 60_000
    body = upstream_body(up)
    dialect = route.upstream_dialect
    if not route.translated:
        # Passed through: the same JSON the SDK sent, the model aside.
        for key, value in sent.items():
            assert body[key] == value, key
        return
    assert upstream_turns(up) == _expected_turns()
    assert _tools_upstream(body, dialect) == [(n, SCHEMAS[n]) for n in TOOL_NAMES]
    assert _call_inputs_upstream(body, dialect) == [_call_input(i) for i in range(ROUNDS)]


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("route", ANTHROPIC_ROUTES)
def test_anthropic_sdk_long_conversation_reaches_upstream_intact(stack, anthropic_client, route, stream):
    req = _anthropic_request()
    if stream:
        with anthropic_client.messages.stream(model=route.model, **req) as s:
            events = list(s)
        assert "".join(text_deltas_anthropic(events)) == HELLO
    else:
        msg = anthropic_client.messages.create(model=route.model, **req)
        assert [b.text for b in msg.content if b.type == "text"] == [HELLO]
    _check_upstream(stack, route, req)


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("route", OPENAI_ROUTES)
def test_openai_sdk_long_conversation_reaches_upstream_intact(stack, openai_client, route, stream):
    req = _openai_request()
    if stream:
        chunks = list(openai_client.chat.completions.create(model=route.model, stream=True, **req))
        assert "".join(text_deltas_openai(chunks)) == HELLO
    else:
        r = openai_client.chat.completions.create(model=route.model, **req)
        assert r.choices[0].message.content == HELLO
    _check_upstream(stack, route, req)
