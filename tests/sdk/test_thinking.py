"""Extended thinking / reasoning (`[[think]]`) through the gateway."""

from __future__ import annotations

import pytest

from sdk_helpers import (
    A_PASS,
    A_XLATE,
    HELLO,
    HELLO_DELTAS,
    OPENAI_ROUTES,
    SIGNATURE,
    STREAM,
    THINKING,
    THINKING_DELTAS,
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
