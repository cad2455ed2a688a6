"""Extended thinking / reasoning (`[[think]]`) through the gateway."""

from __future__ import annotations

import json

import pytest

from sdk_helpers import (
    A_GEM,
    A_PASS,
    A_RESP,
    A_XLATE,
    ANTHROPIC_TOOLS,
    HELLO,
    HELLO_DELTAS,
    OPENAI_ROUTES,
    OPENAI_TOOLS,
    SIGNATURE,
    STREAM,
    THINKING,
    THINKING_DELTAS,
    TOOL_ARGS,
    text_deltas_anthropic,
    user,
)

THINK_PARAM = {"type": "enabled", "budget_tokens": 1024}


def _anthropic_think(client, route, stream):
    params = dict(
        model=route.model,
        max_tokens=2048,
        thinking=THINK_PARAM,
        messages=[user("Think first. [[think]]")],
    )
    if stream:
        with client.messages.stream(**params) as s:
            events = list(s)
            return s.get_final_message(), events
    return client.messages.create(**params), None


@pytest.mark.parametrize("stream", STREAM)
def test_anthropic_sdk_passthrough_returns_signed_thinking_block_before_text(anthropic_client, stream):
    msg, events = _anthropic_think(anthropic_client, A_PASS, stream)
    assert [b.type for b in msg.content] == ["thinking", "text"]
    assert msg.content[0].thinking == THINKING
    assert msg.content[0].signature == SIGNATURE
    assert msg.content[1].text == HELLO
    assert msg.stop_reason == "end_turn"
    if stream:
        thinking = [
            e.delta.thinking
            for e in events
            if e.type == "content_block_delta" and e.delta.type == "thinking_delta"
        ]
        assert thinking == THINKING_DELTAS
        sigs = [
            e.delta.signature
            for e in events
            if e.type == "content_block_delta" and e.delta.type == "signature_delta"
        ]
        assert sigs == [SIGNATURE]
        assert text_deltas_anthropic(events) == HELLO_DELTAS


@pytest.mark.parametrize("stream", STREAM)
def test_anthropic_sdk_translated_reasoning_content_becomes_thinking_block(anthropic_client, stream):
    # OpenAI upstream sends `reasoning_content`; the Anthropic client must get a
    # well-formed thinking block (there is no signature to carry over).
    msg, events = _anthropic_think(anthropic_client, A_XLATE, stream)
    assert [b.type for b in msg.content] == ["thinking", "text"]
    assert msg.content[0].thinking == THINKING
    assert isinstance(msg.content[0].signature, str)
    assert msg.content[1].text == HELLO
    assert msg.stop_reason == "end_turn"
    if stream:
        assert text_deltas_anthropic(events) == HELLO_DELTAS


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("route", [pytest.param(A_RESP, id="responses-upstream"), pytest.param(A_GEM, id="gemini-upstream")])
def test_anthropic_sdk_reasoning_summary_or_thought_becomes_thinking_block(anthropic_client, route, stream):
    # Responses reasoning summaries and Gemini thought parts become thinking
    # blocks; Gemini's thought signature rides along with a `gemini:` prefix.
    msg, events = _anthropic_think(anthropic_client, route, stream)
    assert [b.type for b in msg.content] == ["thinking", "text"]
    assert msg.content[0].thinking == THINKING
    assert isinstance(msg.content[0].signature, str)
    if route.upstream_dialect == "gemini":
        assert msg.content[0].signature == "gemini:c2lnX21vY2tfMQ=="
    assert msg.content[1].text == HELLO
    assert msg.stop_reason == "end_turn"
    if stream:
        assert text_deltas_anthropic(events) == HELLO_DELTAS
        thinking = "".join(
            e.delta.thinking for e in events if e.type == "content_block_delta" and e.delta.type == "thinking_delta"
        )
        assert thinking == THINKING


@pytest.mark.parametrize("route", OPENAI_ROUTES)
def test_openai_sdk_nonstream_reasoning_parses_and_is_in_reasoning_content(openai_client, route):
    resp = openai_client.chat.completions.create(
        model=route.model, messages=[user("Think first. [[think]]")]
    )
    msg = resp.choices[0].message
    assert msg.content == HELLO
    assert resp.choices[0].finish_reason == "stop"
    # Not in the SDK's schema: kept as an extra field.
    assert (msg.model_extra or {}).get("reasoning_content") == THINKING


@pytest.mark.parametrize("route", OPENAI_ROUTES)
def test_openai_sdk_stream_reasoning_deltas_precede_content(openai_client, route):
    pieces = []  # ("r", text) / ("c", text) in arrival order
    finish = []
    for chunk in openai_client.chat.completions.create(
        model=route.model, messages=[user("Think first. [[think]]")], stream=True
    ):
        for ch in chunk.choices:
            r = (ch.delta.model_extra or {}).get("reasoning_content")
            if r:
                pieces.append(("r", r))
            if ch.delta.content:
                pieces.append(("c", ch.delta.content))
            if ch.finish_reason:
                finish.append(ch.finish_reason)
    reasoning = "".join(t for k, t in pieces if k == "r")
    content = "".join(t for k, t in pieces if k == "c")
    assert content == HELLO
    assert reasoning == THINKING
    kinds = [k for k, _ in pieces]
    assert kinds == sorted(kinds, key=lambda k: k != "r"), "reasoning after content"
    assert finish == ["stop"]


# --------------------------------------------------------------------------
# Thinking followed by a tool call: block order and indexes must survive.


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize(
    "route",
    [
        pytest.param(A_PASS, id="passthrough"),
        pytest.param(A_XLATE, id="translated"),
        pytest.param(A_RESP, id="translated-responses"),
        pytest.param(A_GEM, id="translated-gemini"),
    ],
)
def test_anthropic_sdk_thinking_then_text_then_tool_use_in_order(anthropic_client, route, stream):
    params = dict(
        model=route.model,
        max_tokens=2048,
        thinking=THINK_PARAM,
        tools=ANTHROPIC_TOOLS,
        messages=[user("Weather? [[think]] [[tool]]")],
    )
    if stream:
        with anthropic_client.messages.stream(**params) as s:
            events = list(s)
            msg = s.get_final_message()
        starts = [e.index for e in events if e.type == "content_block_start"]
        assert starts == [0, 1, 2]
    else:
        msg = anthropic_client.messages.create(**params)
    assert [b.type for b in msg.content] == ["thinking", "text", "tool_use"]
    assert msg.content[0].thinking == THINKING
    assert msg.content[1].text == "Checking."
    assert msg.content[2].name == "get_weather"
    assert msg.content[2].input == TOOL_ARGS
    assert msg.stop_reason == "tool_use"


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("route", OPENAI_ROUTES)
def test_openai_sdk_reasoning_then_text_then_tool_call(openai_client, route, stream):
    params = dict(model=route.model, tools=OPENAI_TOOLS, messages=[user("Weather? [[think]] [[tool]]")])
    if stream:
        with openai_client.chat.completions.stream(**params) as s:
            reasoning = []
            for chunk in s:
                if chunk.type == "chunk":
                    for ch in chunk.chunk.choices:
                        r = (ch.delta.model_extra or {}).get("reasoning_content")
                        if r:
                            reasoning.append(r)
            final = s.get_final_completion()
        assert "".join(reasoning) == THINKING
    else:
        final = openai_client.chat.completions.create(**params)
        assert (final.choices[0].message.model_extra or {}).get("reasoning_content") == THINKING
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Checking."
    assert len(choice.message.tool_calls) == 1
    assert choice.message.tool_calls[0].function.name == "get_weather"
    assert json.loads(choice.message.tool_calls[0].function.arguments) == TOOL_ARGS
