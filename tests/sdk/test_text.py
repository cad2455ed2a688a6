"""Plain text answers through the gateway, parsed by the official SDKs:
both SDKs x (same-dialect pass-through, translated) x (non-stream, stream)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from google.genai import types as genai_types

from sdk_helpers import (
    A_GEM,
    A_PASS,
    A_RESP,
    A_XLATE,
    ACCESS_KEY,
    ANTHROPIC_ROUTES,
    CACHED_TOKENS,
    HELLO,
    HELLO_DELTAS,
    O_GEM,
    O_PASS,
    O_RESP,
    O_XLATE,
    OPENAI_ROUTES,
    RESPONSES_ROUTES,
    GEMINI_ROUTES,
    R_ANTH,
    R_CHAT,
    R_GEM,
    R_PASS,
    G_ANTH,
    G_CHAT,
    G_PASS,
    G_RESP,
    last_upstream,
    mock_input_tokens,
    text_deltas_anthropic,
    text_deltas_openai,
    assert_upstream_call,
    user,
)

RAW_ANTHROPIC_EVENTS = {
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
}


# --------------------------------------------------------------------------
# Anthropic SDK


@pytest.mark.parametrize("route", ANTHROPIC_ROUTES)
def test_anthropic_sdk_nonstream_text_is_exact_with_end_turn_and_usage(stack, anthropic_client, route):
    msg = anthropic_client.messages.create(
        model=route.model, max_tokens=64, messages=[user("Say hello.")]
    )
    up = last_upstream(stack)
    assert_upstream_call(up, route, stream=False)

    assert msg.type == "message"
    assert msg.role == "assistant"
    assert [b.type for b in msg.content] == ["text"]
    assert msg.content[0].text == HELLO
    assert msg.stop_reason == "end_turn"
    assert msg.usage.output_tokens == 3
    assert msg.usage.input_tokens == mock_input_tokens(up)
    assert msg.usage.cache_read_input_tokens == CACHED_TOKENS


@pytest.mark.parametrize("route", ANTHROPIC_ROUTES)
def test_anthropic_sdk_stream_text_arrives_as_word_deltas_with_end_turn_and_usage(
    stack, anthropic_client, route
):
    with anthropic_client.messages.stream(
        model=route.model, max_tokens=64, messages=[user("Say hello.")]
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()
    up = last_upstream(stack)
    assert_upstream_call(up, route, stream=True)

    raw = [e for e in events if e.type in RAW_ANTHROPIC_EVENTS]
    types = [e.type for e in raw]
    assert types[0] == "message_start"
    assert types[-1] == "message_stop"
    assert types.count("message_delta") == 1
    assert types.index("message_delta") == len(types) - 2
    assert types[1:-2] == [
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
    ]
    assert text_deltas_anthropic(raw) == HELLO_DELTAS

    delta = next(e for e in raw if e.type == "message_delta")
    assert delta.delta.stop_reason == "end_turn"
    assert delta.usage.output_tokens == 3
    if route.translated:
        # OpenAI reports usage only at the end, so the translated message_delta
        # must carry the real input count (message_start could not know it).
        assert delta.usage.input_tokens == mock_input_tokens(up)

    assert [b.type for b in final.content] == ["text"]
    assert final.content[0].text == HELLO
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 3
    assert final.usage.input_tokens == mock_input_tokens(up)
    assert final.usage.cache_read_input_tokens == CACHED_TOKENS


@pytest.mark.parametrize("stream", [False, True], ids=["nonstream", "stream"])
@pytest.mark.parametrize("route", ANTHROPIC_ROUTES)
def test_anthropic_sdk_bearer_auth_token_is_accepted(stack, anthropic_bearer_client, route, stream):
    if stream:
        with anthropic_bearer_client.messages.stream(
            model=route.model, max_tokens=64, messages=[user("Say hello.")]
        ) as s:
            msg = s.get_final_message()
    else:
        msg = anthropic_bearer_client.messages.create(
            model=route.model, max_tokens=64, messages=[user("Say hello.")]
        )
    assert msg.content[0].text == HELLO
    assert msg.stop_reason == "end_turn"


# --------------------------------------------------------------------------
# OpenAI SDK


@pytest.mark.parametrize("route", OPENAI_ROUTES)
def test_openai_sdk_nonstream_text_is_exact_with_stop_and_usage(stack, openai_client, route):
    resp = openai_client.chat.completions.create(
        model=route.model, messages=[user("Say hello.")]
    )
    up = last_upstream(stack)
    assert_upstream_call(up, route, stream=False)

    assert resp.object == "chat.completion"
    assert len(resp.choices) == 1
    choice = resp.choices[0]
    assert choice.index == 0
    assert choice.message.role == "assistant"
    assert choice.message.content == HELLO
    assert choice.message.tool_calls is None
    assert choice.finish_reason == "stop"
    u = resp.usage
    assert u is not None
    assert u.completion_tokens == 3
    # prompt_tokens counts cached tokens too, as OpenAI does.
    assert u.prompt_tokens == mock_input_tokens(up) + CACHED_TOKENS
    assert u.total_tokens == u.prompt_tokens + u.completion_tokens
    assert u.prompt_tokens_details is not None
    assert u.prompt_tokens_details.cached_tokens == CACHED_TOKENS


@pytest.mark.parametrize("route", OPENAI_ROUTES)
def test_openai_sdk_stream_text_with_include_usage_ends_with_usage_only_chunk(
    stack, openai_client, route
):
    chunks = list(
        openai_client.chat.completions.create(
            model=route.model,
            messages=[user("Say hello.")],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    up = last_upstream(stack)
    assert_upstream_call(up, route, stream=True)

    assert chunks, "no chunk received"
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1, "chunk ids differ within one stream"
    assert text_deltas_openai(chunks) == HELLO_DELTAS
    finishes = [ch.finish_reason for c in chunks for ch in c.choices if ch.finish_reason]
    assert finishes == ["stop"]
    first_with_choice = next(c for c in chunks if c.choices)
    assert first_with_choice.choices[0].delta.role == "assistant"

    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert all(c.usage is None for c in chunks[:-1])
    assert last.usage.completion_tokens == 3
    assert last.usage.prompt_tokens == mock_input_tokens(up) + CACHED_TOKENS
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens
    assert last.usage.prompt_tokens_details is not None
    assert last.usage.prompt_tokens_details.cached_tokens == CACHED_TOKENS


@pytest.mark.parametrize("route", OPENAI_ROUTES)
def test_openai_sdk_stream_without_include_usage_has_no_usage_chunk(stack, openai_client, route):
    chunks = list(
        openai_client.chat.completions.create(
            model=route.model, messages=[user("Say hello.")], stream=True
        )
    )
    assert text_deltas_openai(chunks) == HELLO_DELTAS
    # Clients written against OpenAI index choices[0] on every chunk.
    assert all(len(c.choices) == 1 for c in chunks)
    assert all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


# --------------------------------------------------------------------------
# Credentials


def _all_header_values(entry: dict) -> str:
    return "\n".join(f"{k}: {v}" for k, v in entry["headers"].items())


@pytest.mark.parametrize(
    "sdk,route,channel_key",
    [
        pytest.param("anthropic", ANTHROPIC_ROUTES[0].values[0], "sk-ant-test-000000001", id="anthropic-passthrough"),
        pytest.param("anthropic", ANTHROPIC_ROUTES[1].values[0], "sk-oai-test-000000003", id="anthropic-translated"),
        pytest.param("openai", OPENAI_ROUTES[0].values[0], "sk-oai-test-000000002", id="openai-passthrough"),
        pytest.param("openai", OPENAI_ROUTES[1].values[0], "sk-ant-test-000000004", id="openai-translated"),
        pytest.param("anthropic", A_RESP, "sk-rsp-test-000000009", id="anthropic-to-responses"),
        pytest.param("anthropic", A_GEM, "gm-test-key-000000010", id="anthropic-to-gemini"),
        pytest.param("openai", O_RESP, "sk-rsp-test-000000009", id="openai-to-responses"),
        pytest.param("openai", O_GEM, "gm-test-key-000000010", id="openai-to-gemini"),
        pytest.param("responses", R_PASS, "sk-rsp-test-000000005", id="responses-passthrough"),
        pytest.param("responses", R_ANTH, "sk-ant-test-000000007", id="responses-to-anthropic"),
        pytest.param("responses", R_CHAT, "sk-oai-test-000000008", id="responses-to-openai"),
        pytest.param("responses", R_GEM, "gm-test-key-000000010", id="responses-to-gemini"),
        pytest.param("gemini", G_PASS, "gm-test-key-000000006", id="gemini-passthrough"),
        pytest.param("gemini", G_ANTH, "sk-ant-test-000000007", id="gemini-to-anthropic"),
        pytest.param("gemini", G_CHAT, "sk-oai-test-000000008", id="gemini-to-openai"),
        pytest.param("gemini", G_RESP, "sk-rsp-test-000000009", id="gemini-to-responses"),
    ],
)
def test_gateway_replaces_client_key_with_channel_key_in_upstream_dialect(
    stack, anthropic_client, openai_client, genai_client, sdk, route, channel_key
):
    if sdk == "anthropic":
        anthropic_client.messages.create(model=route.model, max_tokens=16, messages=[user("hi")])
    elif sdk == "openai":
        openai_client.chat.completions.create(model=route.model, messages=[user("hi")])
    elif sdk == "responses":
        openai_client.responses.create(model=route.model, input="hi")
    else:
        genai_client.models.generate_content(model=route.model, contents="hi")
    up = last_upstream(stack)
    assert_upstream_call(up, route, stream=False)
    headers = {k.lower(): v for k, v in up["headers"].items()}
    if route.upstream_dialect == "anthropic":
        assert headers.get("x-api-key") == channel_key
        assert "anthropic-version" in headers
        assert "authorization" not in headers and "x-goog-api-key" not in headers
    elif route.upstream_dialect == "gemini":
        assert headers.get("x-goog-api-key") == channel_key
        assert "authorization" not in headers and "x-api-key" not in headers
        assert up["query"] in (None, ""), "the key must not travel in the URL"
    else:
        assert headers.get("authorization") == f"Bearer {channel_key}"
        assert "x-api-key" not in headers and "x-goog-api-key" not in headers
    assert ACCESS_KEY not in _all_header_values(up), "client access key leaked upstream"
    assert ACCESS_KEY not in (up["query"] or ""), "client access key leaked upstream"


# --------------------------------------------------------------------------
# Long streams and concurrent streams

LONG_N = 400
LONG_TEXT = "".join(f"w{k} " for k in range(LONG_N))


@pytest.mark.parametrize("route", ANTHROPIC_ROUTES)
def test_anthropic_sdk_long_stream_of_400_deltas_arrives_complete_and_in_order(anthropic_client, route):
    with anthropic_client.messages.stream(
        model=route.model, max_tokens=1024, messages=[user(f"Go on. [[long:{LONG_N}]]")]
    ) as s:
        events = list(s)
        final = s.get_final_message()
    deltas = text_deltas_anthropic(events)
    assert len(deltas) == LONG_N
    assert "".join(deltas) == LONG_TEXT
    assert final.content[0].text == LONG_TEXT
    assert final.usage.output_tokens == LONG_N


@pytest.mark.parametrize("route", OPENAI_ROUTES)
def test_openai_sdk_long_stream_of_400_deltas_arrives_complete_and_in_order(openai_client, route):
    chunks = list(
        openai_client.chat.completions.create(
            model=route.model,
            messages=[user(f"Go on. [[long:{LONG_N}]]")],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    deltas = text_deltas_openai(chunks)
    assert len(deltas) == LONG_N
    assert "".join(deltas) == LONG_TEXT
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == LONG_N


def test_concurrent_streams_on_all_four_routes_do_not_mix(anthropic_client, openai_client):
    """16 streams at once (4 per route), each with its own tool result text
    echoed back, so any cross-talk between translator states shows. The four
    original routes: both SDKs, pass-through and translated."""
    routes = [("anthropic", A_PASS), ("anthropic", A_XLATE), ("openai", O_PASS), ("openai", O_XLATE)]

    def one(job):
        i, (sdk, route) = job
        tag = f"job-{i}-{route.model}"
        if sdk == "anthropic":
            messages = [
                user("Weather? [[tool]]"),
                {"role": "assistant", "content": [{"type": "tool_use", "id": f"toolu_{i}", "name": "get_weather", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"toolu_{i}", "content": tag}]},
            ]
            with anthropic_client.messages.stream(model=route.model, max_tokens=64, messages=messages) as s:
                return tag, s.get_final_message().content[0].text
        messages = [
            user("Weather? [[tool]]"),
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": f"call_{i}", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}],
            },
            {"role": "tool", "tool_call_id": f"call_{i}", "content": tag},
        ]
        text = "".join(
            text_deltas_openai(
                openai_client.chat.completions.create(model=route.model, messages=messages, stream=True)
            )
        )
        return tag, text

    jobs = list(enumerate(routes * 4))
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, jobs))
    assert len(results) == 16
    for tag, text in results:
        assert text == f"Got tool result: {tag}"


def test_concurrent_streams_of_all_four_sdks_on_all_routes_do_not_mix(
    anthropic_client, openai_client, genai_client
):
    """32 streams at once: each of the four SDKs on each of the four upstream
    protocols, twice, each with its own tool result text echoed back, so any
    cross-talk between translator states shows."""
    routes = [
        (sdk, p.values[0])
        for sdk, ps in (
            ("anthropic", ANTHROPIC_ROUTES),
            ("openai", OPENAI_ROUTES),
            ("responses", RESPONSES_ROUTES),
            ("gemini", GEMINI_ROUTES),
        )
        for p in ps
    ]

    def one(job):
        i, (sdk, route) = job
        tag = f"job-{i}-{route.model}"
        if sdk == "anthropic":
            messages = [
                user("Weather? [[tool]]"),
                {"role": "assistant", "content": [{"type": "tool_use", "id": f"toolu_{i}", "name": "get_weather", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"toolu_{i}", "content": tag}]},
            ]
            with anthropic_client.messages.stream(model=route.model, max_tokens=64, messages=messages) as s:
                return tag, s.get_final_message().content[0].text
        if sdk == "responses":
            items = [
                user("Weather? [[tool]]"),
                {"type": "function_call", "call_id": f"call_{i}", "name": "get_weather", "arguments": "{}"},
                {"type": "function_call_output", "call_id": f"call_{i}", "output": tag},
            ]
            events = openai_client.responses.create(model=route.model, input=items, stream=True)
            return tag, "".join(e.delta for e in events if e.type == "response.output_text.delta")
        if sdk == "gemini":
            contents = [
                genai_types.Content(role="user", parts=[genai_types.Part(text="Weather? [[tool]]")]),
                genai_types.Content(
                    role="model",
                    parts=[genai_types.Part(function_call=genai_types.FunctionCall(name="get_weather", args={}))],
                ),
                genai_types.Content(
                    role="user",
                    parts=[
                        genai_types.Part(
                            function_response=genai_types.FunctionResponse(name="get_weather", response={"output": tag})
                        )
                    ],
                ),
            ]
            chunks = genai_client.models.generate_content_stream(model=route.model, contents=contents)
            return tag, "".join(c.text or "" for c in chunks)
        messages = [
            user("Weather? [[tool]]"),
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": f"call_{i}", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}],
            },
            {"role": "tool", "tool_call_id": f"call_{i}", "content": tag},
        ]
        text = "".join(
            text_deltas_openai(
                openai_client.chat.completions.create(model=route.model, messages=messages, stream=True)
            )
        )
        return tag, text

    jobs = list(enumerate(routes * 2))
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, jobs))
    assert len(results) == len(jobs) == 32
    for tag, text in results:
        assert text == f"Got tool result: {tag}"
