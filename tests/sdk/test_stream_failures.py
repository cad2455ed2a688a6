"""Failures after a stream has started. The client has already had a 200 and
some deltas, so the gateway can only signal the failure in-band (Anthropic
`event: error`, OpenAI `data: {"error": ...}`) or by cutting the stream; either
way the SDK's iterator must raise, never end as if the answer were complete."""

from __future__ import annotations

import anthropic
import httpx2
import openai
import pytest

from sdk_helpers import ANTHROPIC_ROUTES, OPENAI_ROUTES, user


def _not_a_parse_failure(exc: Exception) -> None:
    """A malformed event would also raise an APIError subclass; that is not the
    error signal under test."""
    assert not isinstance(
        exc, (anthropic.APIResponseValidationError, openai.APIResponseValidationError)
    ), f"the SDK could not parse an event: {exc}"


def _anthropic_stream(client, route, text):
    """Iterates a stream, returning (text deltas received, exception raised)."""
    deltas: list[str] = []
    try:
        with client.messages.stream(model=route.model, max_tokens=64, messages=[user(text)]) as s:
            for e in s:
                if e.type == "content_block_delta" and e.delta.type == "text_delta":
                    deltas.append(e.delta.text)
            s.get_final_message()
    except Exception as exc:  # noqa: BLE001 - the type is asserted by the caller
        _not_a_parse_failure(exc)
        return deltas, exc
    return deltas, None


def _openai_stream(client, route, text):
    deltas: list[str] = []
    try:
        for chunk in client.chat.completions.create(
            model=route.model, messages=[user(text)], stream=True
        ):
            for ch in chunk.choices:
                if ch.delta.content:
                    deltas.append(ch.delta.content)
    except Exception as exc:  # noqa: BLE001
        _not_a_parse_failure(exc)
        return deltas, exc
    return deltas, None


# --------------------------------------------------------------------------
# In-band error after the first delta


@pytest.mark.parametrize("route", ANTHROPIC_ROUTES)
def test_anthropic_sdk_midstream_error_raises_api_status_error_after_first_delta(anthropic_client, route):
    deltas, exc = _anthropic_stream(anthropic_client, route, "hi [[midstream-error]]")
    assert exc is not None, f"stream ended cleanly after {deltas!r}; expected an error"
    assert isinstance(exc, anthropic.APIStatusError), f"{type(exc).__name__}: {exc}"
    assert deltas == ["Hello"]
    # The SDK builds the exception from the `event: error` payload.
    assert isinstance(exc.body, dict) and exc.body.get("type") == "error"
    assert exc.type in ("overloaded_error", "api_error")


@pytest.mark.parametrize("route", OPENAI_ROUTES)
def test_openai_sdk_midstream_error_raises_api_error_after_first_delta(openai_client, route):
    deltas, exc = _openai_stream(openai_client, route, "hi [[midstream-error]]")
    assert exc is not None, f"stream ended cleanly after {deltas!r}; expected an error"
    assert isinstance(exc, openai.APIError), f"{type(exc).__name__}: {exc}"
    assert deltas == ["Hello"]
    assert isinstance(exc.body, dict) and exc.body.get("message")


# --------------------------------------------------------------------------
# In-band error as the very first upstream event


@pytest.mark.parametrize("route", ANTHROPIC_ROUTES)
def test_anthropic_sdk_first_event_error_raises_api_status_error_with_no_text(anthropic_client, route):
    deltas, exc = _anthropic_stream(anthropic_client, route, "hi [[first-event-error]]")
    assert exc is not None, "stream ended cleanly; expected an error"
    assert isinstance(exc, anthropic.APIStatusError), f"{type(exc).__name__}: {exc}"
    assert deltas == []


@pytest.mark.parametrize("route", OPENAI_ROUTES)
def test_openai_sdk_first_event_error_raises_api_error_with_no_text(openai_client, route):
    deltas, exc = _openai_stream(openai_client, route, "hi [[first-event-error]]")
    assert exc is not None, "stream ended cleanly; expected an error"
    assert isinstance(exc, openai.APIError), f"{type(exc).__name__}: {exc}"
    assert deltas == []


# --------------------------------------------------------------------------
# Upstream connection cut after the first delta


@pytest.mark.parametrize("route", ANTHROPIC_ROUTES)
def test_anthropic_sdk_upstream_disconnect_midstream_raises_not_clean_end(anthropic_client, route):
    deltas, exc = _anthropic_stream(anthropic_client, route, "hi [[disconnect]]")
    assert exc is not None, f"stream ended cleanly after {deltas!r}; a cut stream must raise"
    # Either an in-band error event or a truncated HTTP body is acceptable.
    assert isinstance(exc, (anthropic.APIError, httpx2.TransportError)), f"{type(exc).__name__}: {exc}"
    assert deltas == ["Hello"]


@pytest.mark.parametrize("route", OPENAI_ROUTES)
def test_openai_sdk_upstream_disconnect_midstream_raises_not_clean_end(openai_client, route):
    deltas, exc = _openai_stream(openai_client, route, "hi [[disconnect]]")
    assert exc is not None, f"stream ended cleanly after {deltas!r}; a cut stream must raise"
    assert isinstance(exc, (openai.APIError, httpx2.TransportError)), f"{type(exc).__name__}: {exc}"
    assert deltas == ["Hello"]
