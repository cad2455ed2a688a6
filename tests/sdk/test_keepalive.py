"""Streams whose upstream is silent after its start (`[[quiet:MS]]`, longer than the
gateway's `stream_keepalive_ms` of 400 ms here): the gateway commits the stream and
writes keepalives, `event: ping` to Anthropic clients, `: ping` comments to OpenAI
ones and chunks of one empty text part to Gemini ones. Each SDK must read through them to the same answer, timed so that the silence
was really covered."""

from __future__ import annotations

import time

import pytest

from sdk_helpers import (
    ANTHROPIC_ROUTES,
    GEMINI_ROUTES,
    HELLO,
    HELLO_DELTAS,
    OPENAI_ROUTES,
    RESPONSES_ROUTES,
    user,
)

QUIET = "[[quiet:1200]] Say hello."


@pytest.mark.parametrize("route", ANTHROPIC_ROUTES)
def test_anthropic_sdk_reads_through_pings(anthropic_client, route):
    started = time.monotonic()
    with anthropic_client.messages.stream(model=route.model, max_tokens=64, messages=[user(QUIET)]) as s:
        deltas = [e.delta.text for e in s if e.type == "content_block_delta" and e.delta.type == "text_delta"]
        final = s.get_final_message()
    assert time.monotonic() - started >= 1.2
    assert deltas == HELLO_DELTAS
    assert [b.type for b in final.content] == ["text"]
    assert final.content[0].text == HELLO
    assert final.stop_reason == "end_turn"


@pytest.mark.parametrize("route", OPENAI_ROUTES)
def test_openai_sdk_reads_through_comments(openai_client, route):
    started = time.monotonic()
    chunks = list(
        openai_client.chat.completions.create(
            model=route.model, messages=[user(QUIET)], stream=True, stream_options={"include_usage": True}
        )
    )
    assert time.monotonic() - started >= 1.2
    text = [c.delta.content for ch in chunks for c in ch.choices if c.delta.content]
    assert text == HELLO_DELTAS
    assert [c.finish_reason for ch in chunks for c in ch.choices if c.finish_reason] == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 3


@pytest.mark.parametrize("route", RESPONSES_ROUTES)
def test_responses_sdk_reads_through_comments(openai_client, route):
    started = time.monotonic()
    with openai_client.responses.stream(model=route.model, input=QUIET) as s:
        deltas = [e.delta for e in s if e.type == "response.output_text.delta"]
        final = s.get_final_response()
    assert time.monotonic() - started >= 1.2
    assert deltas == HELLO_DELTAS
    assert final.status == "completed"
    assert final.output_text == HELLO


@pytest.mark.parametrize("route", GEMINI_ROUTES)
def test_gemini_sdk_reads_through_empty_chunks(genai_client, route):
    started = time.monotonic()
    chunks = list(genai_client.models.generate_content_stream(model=route.model, contents=QUIET))
    assert time.monotonic() - started >= 1.2
    assert "".join(c.text or "" for c in chunks) == HELLO
    assert chunks[-1].candidates[0].finish_reason == "STOP"
    # The keepalives: chunks of one empty text part, naming no model.
    empty = [c for c in chunks if c.text == "" and c.candidates[0].finish_reason is None]
    assert len(empty) >= 2
    assert all(c.model_version is None for c in empty)
