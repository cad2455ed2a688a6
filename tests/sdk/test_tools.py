"""Tool use through the gateway, the Anthropic and OpenAI Chat SDKs on every
upstream protocol (pass-through, OpenAI/Anthropic, Responses, Gemini), stream and non-stream:
a single call (`[[tool]]`), two parallel calls (`[[tools2]]`), and tool-result
round trips back to the model."""

from __future__ import annotations

import json

import pytest

from sdk_helpers import (
    A_GEM,
    ANTHROPIC_ROUTES,
    ANTHROPIC_TOOLS,
    O_GEM,
    OPENAI_ROUTES,
    OPENAI_TOOLS,
    STREAM,
    TOOL_ARGS,
    assert_tools_reached_upstream,
    last_upstream,
    parallel_results_answer,
    upstream_body,
    user,
)

# --------------------------------------------------------------------------
# Helpers: one call of each SDK, stream or not, returning the final message.


def anthropic_call(client, route, messages, stream, **kw):
    params = dict(model=route.model, max_tokens=256, messages=messages, tools=ANTHROPIC_TOOLS, **kw)
    if stream:
        with client.messages.stream(**params) as s:
            for _ in s:
                pass
            return s.get_final_message()
    return client.messages.create(**params)


def openai_call(client, route, messages, stream):
    """Returns (message, finish_reason) of the single choice."""
    params = dict(model=route.model, messages=messages, tools=OPENAI_TOOLS)
    if stream:
        with client.chat.completions.stream(**params) as s:
            for _ in s:
                pass
            final = s.get_final_completion()
    else:
        final = client.chat.completions.create(**params)
    assert len(final.choices) == 1
    return final.choices[0].message, final.choices[0].finish_reason


def openai_stream_raw(client, route, messages):
    """Streams with create(stream=True) and accumulates tool-call deltas by hand,
    checking the OpenAI streaming contract for tool calls on the way."""
    calls: dict[int, dict] = {}
    content = []
    finish = []
    for chunk in client.chat.completions.create(
        model=route.model, messages=messages, tools=OPENAI_TOOLS, stream=True
    ):
        for ch in chunk.choices:
            d = ch.delta
            if d.content:
                content.append(d.content)
            for tc in d.tool_calls or []:
                if tc.index not in calls:
                    # The first delta of a call carries its id, type and name.
                    assert tc.id, f"first delta of tool call {tc.index} has no id"
                    assert tc.type == "function"
                    assert tc.function is not None and tc.function.name
                    calls[tc.index] = {"id": tc.id, "name": tc.function.name, "arguments": ""}
                else:
                    assert tc.id in (None, calls[tc.index]["id"])
                if tc.function is not None and tc.function.arguments:
                    calls[tc.index]["arguments"] += tc.function.arguments
            if ch.finish_reason:
                finish.append(ch.finish_reason)
    return calls, "".join(content), finish


# --------------------------------------------------------------------------
# Single tool call


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("route", ANTHROPIC_ROUTES)
def test_anthropic_sdk_tool_call_has_exact_name_input_and_tool_use_stop(anthropic_client, route, stream):
    msg = anthropic_call(anthropic_client, route, [user("Weather in Paris? [[tool]]")], stream)
    assert [b.type for b in msg.content] == ["text", "tool_use"]
    assert msg.content[0].text == "Checking."
    tool = msg.content[1]
    assert tool.name == "get_weather"
    assert tool.input == TOOL_ARGS
    assert tool.id
    assert msg.stop_reason == "tool_use"


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("route", OPENAI_ROUTES)
def test_openai_sdk_tool_call_has_exact_name_arguments_and_tool_calls_finish(openai_client, route, stream):
    msg, finish = openai_call(openai_client, route, [user("Weather in Paris? [[tool]]")], stream)
    assert finish == "tool_calls"
    assert msg.content == "Checking."
    assert msg.tool_calls is not None and len(msg.tool_calls) == 1
    call = msg.tool_calls[0]
    assert call.type == "function"
    assert call.id
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == TOOL_ARGS


@pytest.mark.parametrize("route", OPENAI_ROUTES)
def test_openai_sdk_raw_stream_tool_call_deltas_accumulate_to_exact_arguments(openai_client, route):
    calls, content, finish = openai_stream_raw(
        openai_client, route, [user("Weather in Paris? [[tool]]")]
    )
    assert content == "Checking."
    assert finish == ["tool_calls"]
    assert sorted(calls) == [0]
    assert calls[0]["name"] == "get_weather"
    assert json.loads(calls[0]["arguments"]) == TOOL_ARGS


@pytest.mark.parametrize("route", ANTHROPIC_ROUTES)
def test_anthropic_sdk_tool_declarations_reach_upstream_in_its_dialect(stack, anthropic_client, route):
    anthropic_call(anthropic_client, route, [user("Weather? [[tool]]")], stream=False)
    assert_tools_reached_upstream(last_upstream(stack), route)


@pytest.mark.parametrize("route", OPENAI_ROUTES)
def test_openai_sdk_tool_declarations_reach_upstream_in_its_dialect(stack, openai_client, route):
    openai_call(openai_client, route, [user("Weather? [[tool]]")], stream=False)
    assert_tools_reached_upstream(last_upstream(stack), route)


# --------------------------------------------------------------------------
# Parallel tool calls


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("route", ANTHROPIC_ROUTES)
def test_anthropic_sdk_parallel_tool_calls_are_two_distinct_blocks(anthropic_client, route, stream):
    msg = anthropic_call(anthropic_client, route, [user("Paris and Rome? [[tools2]]")], stream)
    assert msg.stop_reason == "tool_use"
    tools = [b for b in msg.content if b.type == "tool_use"]
    assert [b.type for b in msg.content if b.type != "text"] == ["tool_use", "tool_use"]
    assert [t.name for t in tools] == ["get_weather", "get_forecast"]
    assert [t.input for t in tools] == [{"city": "Paris"}, {"city": "Rome"}]
    assert tools[0].id and tools[1].id and tools[0].id != tools[1].id


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("route", OPENAI_ROUTES)
def test_openai_sdk_parallel_tool_calls_are_two_distinct_calls(openai_client, route, stream):
    msg, finish = openai_call(openai_client, route, [user("Paris and Rome? [[tools2]]")], stream)
    assert finish == "tool_calls"
    calls = msg.tool_calls
    assert calls is not None and len(calls) == 2
    assert [c.function.name for c in calls] == ["get_weather", "get_forecast"]
    assert [json.loads(c.function.arguments) for c in calls] == [{"city": "Paris"}, {"city": "Rome"}]
    assert calls[0].id and calls[1].id and calls[0].id != calls[1].id


@pytest.mark.parametrize("route", OPENAI_ROUTES)
def test_openai_sdk_raw_stream_parallel_tool_calls_use_indexes_0_and_1(openai_client, route):
    calls, _, finish = openai_stream_raw(openai_client, route, [user("Paris and Rome? [[tools2]]")])
    assert finish == ["tool_calls"]
    assert sorted(calls) == [0, 1]
    assert [calls[i]["name"] for i in (0, 1)] == ["get_weather", "get_forecast"]
    assert [json.loads(calls[i]["arguments"]) for i in (0, 1)] == [{"city": "Paris"}, {"city": "Rome"}]
    assert calls[0]["id"] != calls[1]["id"]


# --------------------------------------------------------------------------
# Tool-result round trips

# Multi-byte UTF-8, a quote, a backslash and a newline: must survive both
# translations and the SSE framing byte for byte.
UNICODE_RESULT = 'Sonne ☀️ 21°C — “klar”, naïve \\ path\nline 2 日本語 🌦️'


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize(
    "result_content",
    [
        pytest.param("sunny, 21C", id="string-content"),
        pytest.param([{"type": "text", "text": "sunny, 21C"}], id="block-content"),
        pytest.param(UNICODE_RESULT, id="unicode-content"),
    ],
)
@pytest.mark.parametrize("route", ANTHROPIC_ROUTES)
def test_anthropic_sdk_tool_result_round_trip_reaches_model(anthropic_client, route, result_content, stream):
    first_turn = [user("Weather in Paris? [[tool]]")]
    first = anthropic_call(anthropic_client, route, first_turn, stream=False)
    tool_use = next(b for b in first.content if b.type == "tool_use")
    messages = first_turn + [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": result_content}],
        },
    ]
    msg = anthropic_call(anthropic_client, route, messages, stream)
    expected = result_content if isinstance(result_content, str) else result_content[0]["text"]
    assert [b.type for b in msg.content] == ["text"]
    assert msg.content[0].text == f"Got tool result: {expected}"
    assert msg.stop_reason == "end_turn"


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize(
    "result", [pytest.param("sunny, 21C", id="ascii"), pytest.param(UNICODE_RESULT, id="unicode")]
)
@pytest.mark.parametrize("route", OPENAI_ROUTES)
def test_openai_sdk_tool_result_round_trip_reaches_model(openai_client, route, result, stream):
    first_turn = [user("Weather in Paris? [[tool]]")]
    first, _ = openai_call(openai_client, route, first_turn, stream=False)
    call = first.tool_calls[0]
    messages = first_turn + [
        first.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": result},
    ]
    msg, finish = openai_call(openai_client, route, messages, stream)
    assert msg.content == f"Got tool result: {result}"
    assert finish == "stop"
    assert not msg.tool_calls


# Two results for two parallel calls. Anthropic wants both tool_result blocks in
# one user message, OpenAI one `tool` message each; the mock answers with the
# tool-result text of the *last* message it receives, which shows how the
# gateway grouped them.
PARALLEL_RESULTS = ("Paris: sunny", "Rome: rainy")


@pytest.mark.parametrize("route", ANTHROPIC_ROUTES)
def test_anthropic_sdk_parallel_tool_results_round_trip(anthropic_client, route):
    first_turn = [user("Paris and Rome? [[tools2]]")]
    first = anthropic_call(anthropic_client, route, first_turn, stream=False)
    uses = [b for b in first.content if b.type == "tool_use"]
    assert len(uses) == 2
    messages = first_turn + [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": u.id, "content": r}
                for u, r in zip(uses, PARALLEL_RESULTS)
            ],
        },
    ]
    msg = anthropic_call(anthropic_client, route, messages, stream=False)
    assert msg.content[0].text == parallel_results_answer(route)
    assert msg.stop_reason == "end_turn"


@pytest.mark.parametrize("route", OPENAI_ROUTES)
def test_openai_sdk_parallel_tool_results_round_trip(stack, openai_client, route):
    first_turn = [user("Paris and Rome? [[tools2]]")]
    first, _ = openai_call(openai_client, route, first_turn, stream=False)
    assert first.tool_calls is not None and len(first.tool_calls) == 2
    messages = first_turn + [first.model_dump(exclude_none=True)] + [
        {"role": "tool", "tool_call_id": c.id, "content": r}
        for c, r in zip(first.tool_calls, PARALLEL_RESULTS)
    ]
    msg, finish = openai_call(openai_client, route, messages, stream=False)
    up = upstream_body(last_upstream(stack))
    if route.upstream_dialect == "anthropic":
        # Both results must travel in one user message (Anthropic requires all
        # tool_result blocks of a turn together).
        last = up["messages"][-1]
        assert last["role"] == "user"
        ids = [b["tool_use_id"] for b in last["content"] if b.get("type") == "tool_result"]
        assert ids == [c.id for c in first.tool_calls]
    elif route.upstream_dialect == "responses":
        outputs = [i for i in up["input"] if i.get("type") == "function_call_output"]
        assert [(o["call_id"], o["output"]) for o in outputs] == [
            (c.id, r) for c, r in zip(first.tool_calls, PARALLEL_RESULTS)
        ]
    elif route.upstream_dialect == "gemini":
        # Gemini: one user turn with a functionResponse per call, in call order.
        last = up["contents"][-1]
        assert last["role"] == "user"
        names = [p["functionResponse"]["name"] for p in last["parts"] if "functionResponse" in p]
        assert names == ["get_weather", "get_forecast"]
    assert msg.content == parallel_results_answer(route)
    assert finish == "stop"


# --------------------------------------------------------------------------
# Gemini thought signatures: a Gemini upstream's function-call signature is
# carried inside the tool id the client sees and must reach Gemini again, on
# its function call, when the client sends the history back.

GEMINI_TOOL_SIGNATURE = "c2lnX3Rvb2xfMQ=="  # base64 of sig_tool_1, as the mock sends it


def _gemini_model_turn_signatures(stack) -> list:
    contents = upstream_body(last_upstream(stack))["contents"]
    model_turns = [c for c in contents if c["role"] == "model"]
    assert len(model_turns) == 1
    return [p.get("thoughtSignature") for p in model_turns[0]["parts"] if "functionCall" in p]


@pytest.mark.parametrize("stream", STREAM)
def test_anthropic_sdk_gemini_tool_signature_survives_the_round_trip(stack, anthropic_client, stream):
    route = A_GEM
    first_turn = [user("Weather in Paris? [[tool]]")]
    first = anthropic_call(anthropic_client, route, first_turn, stream)
    tool_use = next(b for b in first.content if b.type == "tool_use")
    messages = first_turn + [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "sunny"}]},
    ]
    msg = anthropic_call(anthropic_client, route, messages, stream)
    assert msg.content[0].text == "Got tool result: sunny"
    assert _gemini_model_turn_signatures(stack) == [GEMINI_TOOL_SIGNATURE]


@pytest.mark.parametrize("stream", STREAM)
def test_openai_sdk_gemini_tool_signature_survives_the_round_trip(stack, openai_client, stream):
    route = O_GEM
    first_turn = [user("Weather in Paris? [[tool]]")]
    first, _ = openai_call(openai_client, route, first_turn, stream)
    messages = first_turn + [
        first.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": first.tool_calls[0].id, "content": "sunny"},
    ]
    msg, finish = openai_call(openai_client, route, messages, stream)
    assert msg.content == "Got tool result: sunny"
    assert finish == "stop"
    assert _gemini_model_turn_signatures(stack) == [GEMINI_TOOL_SIGNATURE]
