"""HTTP errors (before any stream byte) through the gateway: each SDK must raise
its own typed exception with the right status, on both routes, whether the
request asked for a stream or not."""

from __future__ import annotations

import anthropic
import openai
import pytest

from sdk_helpers import (
    ANTHROPIC_ROUTES,
    OPENAI_ROUTES,
    STREAM,
    Route,
    mock_total,
    user,
)


def anthropic_request(client, route, text, stream):
    params = dict(model=route.model, max_tokens=64, messages=[user(text)])
    if stream:
        with client.messages.stream(**params) as s:
            return s.get_final_message()
    return client.messages.create(**params)


def openai_request(client, route, text, stream):
    if stream:
        return list(
            client.chat.completions.create(model=route.model, messages=[user(text)], stream=True)
        )
    return client.chat.completions.create(model=route.model, messages=[user(text)])


def _anthropic_body_ok(e: anthropic.APIStatusError, error_type: str) -> None:
    assert isinstance(e.body, dict), f"error body is not JSON: {e.body!r}"
    assert e.body.get("type") == "error"
    assert e.type == error_type
    assert isinstance(e.api_message, str) and e.api_message


def _openai_body_ok(e: openai.APIStatusError) -> None:
    # The OpenAI SDK hands over the `error` object of {"error": {...}}.
    assert isinstance(e.body, dict), f"error body is not JSON: {e.body!r}"
    assert isinstance(e.body.get("message"), str) and e.body["message"]
    assert e.message


# --------------------------------------------------------------------------
# 429


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("route", ANTHROPIC_ROUTES)
def test_anthropic_sdk_upstream_429_raises_rate_limit_error(anthropic_client, route, stream):
    with pytest.raises(anthropic.RateLimitError) as ei:
        anthropic_request(anthropic_client, route, "hi [[error:429]]", stream)
    assert ei.value.status_code == 429
    _anthropic_body_ok(ei.value, "rate_limit_error")


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("route", OPENAI_ROUTES)
def test_openai_sdk_upstream_429_raises_rate_limit_error(openai_client, route, stream):
    with pytest.raises(openai.RateLimitError) as ei:
        openai_request(openai_client, route, "hi [[error:429]]", stream)
    assert ei.value.status_code == 429
    _openai_body_ok(ei.value)


# --------------------------------------------------------------------------
# 529 overloaded


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("route", ANTHROPIC_ROUTES)
def test_anthropic_sdk_upstream_529_keeps_status_529_overloaded(anthropic_client, route, stream):
    with pytest.raises(anthropic.InternalServerError) as ei:
        anthropic_request(anthropic_client, route, "hi [[error:529]]", stream)
    assert ei.value.status_code == 529
    assert isinstance(ei.value, anthropic.OverloadedError)
    _anthropic_body_ok(ei.value, "overloaded_error")


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("route", OPENAI_ROUTES)
def test_openai_sdk_upstream_529_becomes_503(openai_client, route, stream):
    with pytest.raises(openai.InternalServerError) as ei:
        openai_request(openai_client, route, "hi [[error:529]]", stream)
    assert ei.value.status_code == 503
    _openai_body_ok(ei.value)


# --------------------------------------------------------------------------
# 400


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("route", ANTHROPIC_ROUTES)
def test_anthropic_sdk_upstream_400_raises_bad_request_error(anthropic_client, route, stream):
    with pytest.raises(anthropic.BadRequestError) as ei:
        anthropic_request(anthropic_client, route, "hi [[error:400]]", stream)
    assert ei.value.status_code == 400
    _anthropic_body_ok(ei.value, "invalid_request_error")


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("route", OPENAI_ROUTES)
def test_openai_sdk_upstream_400_raises_bad_request_error(openai_client, route, stream):
    with pytest.raises(openai.BadRequestError) as ei:
        openai_request(openai_client, route, "hi [[error:400]]", stream)
    assert ei.value.status_code == 400
    _openai_body_ok(ei.value)


# --------------------------------------------------------------------------
# Wrong client key: rejected by the gateway itself, upstream never contacted.

WRONG_KEY = "sdk-wrong-key-9876543210"


@pytest.mark.parametrize("auth", ["api_key", "auth_token"])
@pytest.mark.parametrize("route", ANTHROPIC_ROUTES)
def test_anthropic_sdk_wrong_key_raises_authentication_error_without_upstream_call(
    stack, route, auth
):
    client = anthropic.Anthropic(
        base_url=stack.gateway_url, max_retries=0, timeout=20.0, **{auth: WRONG_KEY}
    )
    before = mock_total(stack)
    with client, pytest.raises(anthropic.AuthenticationError) as ei:
        anthropic_request(client, route, "hi", stream=False)
    assert ei.value.status_code == 401
    _anthropic_body_ok(ei.value, "authentication_error")
    assert mock_total(stack) == before, "a request with a wrong key reached the upstream"


@pytest.mark.parametrize("route", OPENAI_ROUTES)
def test_openai_sdk_wrong_key_raises_authentication_error_without_upstream_call(stack, route):
    client = openai.OpenAI(
        api_key=WRONG_KEY, base_url=stack.gateway_url + "/v1", max_retries=0, timeout=20.0
    )
    before = mock_total(stack)
    with client, pytest.raises(openai.AuthenticationError) as ei:
        openai_request(client, route, "hi", stream=False)
    assert ei.value.status_code == 401
    _openai_body_ok(ei.value)
    assert mock_total(stack) == before, "a request with a wrong key reached the upstream"


# --------------------------------------------------------------------------
# Upstream drops the connection before answering a non-stream request.


@pytest.mark.parametrize("route", ANTHROPIC_ROUTES)
def test_anthropic_sdk_nonstream_upstream_disconnect_gives_5xx_api_status_error(anthropic_client, route):
    with pytest.raises(anthropic.APIStatusError) as ei:
        anthropic_request(anthropic_client, route, "hi [[disconnect]]", stream=False)
    assert 500 <= ei.value.status_code <= 599
    assert isinstance(ei.value.body, dict) and ei.value.body.get("type") == "error"


@pytest.mark.parametrize("route", OPENAI_ROUTES)
def test_openai_sdk_nonstream_upstream_disconnect_gives_5xx_api_status_error(openai_client, route):
    with pytest.raises(openai.APIStatusError) as ei:
        openai_request(openai_client, route, "hi [[disconnect]]", stream=False)
    assert 500 <= ei.value.status_code <= 599
    _openai_body_ok(ei.value)


# --------------------------------------------------------------------------
# A model no channel serves: the gateway's own 404, in the client's dialect.


@pytest.mark.parametrize("stream", STREAM)
def test_anthropic_sdk_unrouted_model_raises_not_found_error(anthropic_client, stream):
    with pytest.raises(anthropic.NotFoundError) as ei:
        anthropic_request(anthropic_client, Route("no-such-model", "", "", False), "hi", stream)
    assert ei.value.status_code == 404
    _anthropic_body_ok(ei.value, "not_found_error")


@pytest.mark.parametrize("stream", STREAM)
def test_openai_sdk_unrouted_model_raises_not_found_error(openai_client, stream):
    with pytest.raises(openai.NotFoundError) as ei:
        openai_request(openai_client, Route("no-such-model", "", "", False), "hi", stream)
    assert ei.value.status_code == 404
    _openai_body_ok(ei.value)
