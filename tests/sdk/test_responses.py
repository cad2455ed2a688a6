"""The OpenAI SDK's Responses API (`client.responses`) through the gateway, on
every upstream protocol: a Responses upstream (pass-through) and Anthropic,
OpenAI Chat and Gemini upstreams (translated). Non-stream `create`, raw
`create(stream=True)` events and the SDK's `responses.stream()` helper (which
rebuilds the response from the events and checks their lifecycle), with strict
response validation."""

from __future__ import annotations

import json

import openai
import pytest

from sdk_helpers import (
    CACHED_TOKENS,
    HELLO,
    HELLO_DELTAS,
    R_ANTH,
    R_CHAT,
    R_GEM,
    RESPONSES_ROUTES,
    RESPONSES_TOOLS,
    STREAM,
    THINKING,
    THINKING_DELTAS,
    TOOL_ARGS,
    WEATHER_SCHEMA,
    Route,
    assert_tools_reached_upstream,
    assert_upstream_call,
    last_upstream,
    mock_input_tokens,
    mock_total,
    parallel_results_answer,
    upstream_body,
    upstream_turns,
    user,
)

# A strict function tool: the SDK's stream helper then fills `parsed_arguments`.
STRICT_WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather in a city.",
    "strict": True,
    "parameters": {
        "type": "object",
        "properties": WEATHER_SCHEMA["properties"],
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
}


def responses_call(client, route, input, stream, **kw):
    """One call, returning the final `Response`: `create()`, or the stream helper."""
    params = dict(model=route.model, input=input, **kw)
    if stream:
        with client.responses.stream(**params) as s:
            for _ in s:
                pass
            return s.get_final_response()
    return client.responses.create(**params)


def raw_events(client, route, input, **kw) -> list:
    return list(client.responses.create(model=route.model, input=input, stream=True, **kw))


def text_deltas(events) -> list[str]:
    return [e.delta for e in events if e.type == "response.output_text.delta"]


def assert_sequence_numbers_increase(events) -> None:
    seqs = [e.sequence_number for e in events]
    assert seqs == sorted(set(seqs)), f"sequence_number not strictly increasing: {seqs}"


def function_calls(resp) -> list:
    return [i for i in resp.output if i.type == "function_call"]


def assert_usage(usage, up) -> None:
    """Responses usage: input_tokens includes the cached tokens."""
    assert usage is not None
    assert usage.output_tokens == 3
    assert usage.input_tokens == mock_input_tokens(up) + CACHED_TOKENS
    assert usage.input_tokens_details.cached_tokens == CACHED_TOKENS
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens


# --------------------------------------------------------------------------
# Text


@pytest.mark.parametrize("route", RESPONSES_ROUTES)
def test_responses_nonstream_text_is_exact_with_completed_status_and_usage(stack, openai_client, route):
    resp = openai_client.responses.create(model=route.model, input="Say hello.")
    up = last_upstream(stack)
    assert_upstream_call(up, route, stream=False)

    assert resp.object == "response"
    assert resp.status == "completed"
    assert resp.id.startswith("resp_")
    assert resp.error is None
    assert [i.type for i in resp.output] == ["message"]
    msg = resp.output[0]
    assert msg.role == "assistant"
    assert msg.status == "completed"
    assert [c.type for c in msg.content] == ["output_text"]
    assert msg.content[0].text == HELLO
    assert resp.output_text == HELLO
    assert_usage(resp.usage, up)


@pytest.mark.parametrize("route", RESPONSES_ROUTES)
def test_responses_raw_stream_events_are_complete_ordered_and_exact(stack, openai_client, route):
    events = raw_events(openai_client, route, "Say hello.")
    up = last_upstream(stack)
    assert_upstream_call(up, route, stream=True)

    assert [e.type for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert_sequence_numbers_increase(events)
    assert text_deltas(events) == HELLO_DELTAS
    created, completed = events[0].response, events[-1].response
    assert created.status == "in_progress"
    assert completed.id == created.id
    assert completed.status == "completed"
    # One item id across the item's events, the same as in the final response.
    item_id = events[2].item.id
    assert {e.item_id for e in events if hasattr(e, "item_id")} == {item_id}
    assert [i.id for i in completed.output] == [item_id]
    done = next(e for e in events if e.type == "response.output_text.done")
    assert done.text == HELLO
    assert completed.output_text == HELLO
    assert_usage(completed.usage, up)


@pytest.mark.parametrize("route", RESPONSES_ROUTES)
def test_responses_stream_helper_rebuilds_exact_text_and_usage(stack, openai_client, route):
    with openai_client.responses.stream(model=route.model, input=[user("Say hello.")]) as s:
        deltas = [e.delta for e in s if e.type == "response.output_text.delta"]
        final = s.get_final_response()
    up = last_upstream(stack)
    assert_upstream_call(up, route, stream=True)
    assert deltas == HELLO_DELTAS
    assert final.status == "completed"
    assert final.output_text == HELLO
    assert_usage(final.usage, up)


@pytest.mark.parametrize("route", RESPONSES_ROUTES)
def test_responses_instructions_and_limits_reach_upstream(stack, openai_client, route):
    resp = openai_client.responses.create(
        model=route.model, instructions="Be brief.", max_output_tokens=77, input="Say hello."
    )
    assert resp.output_text == HELLO
    up = last_upstream(stack)
    body = upstream_body(up)
    d = route.upstream_dialect
    if d == "responses":
        assert body["instructions"] == "Be brief."
        assert body["max_output_tokens"] == 77
    elif d == "anthropic":
        system = body["system"]
        assert (system if isinstance(system, str) else "".join(b["text"] for b in system)) == "Be brief."
        assert body["max_tokens"] == 77
    elif d == "openai":
        assert body["messages"][0] == {"role": "system", "content": "Be brief."}
        assert body.get("max_completion_tokens", body.get("max_tokens")) == 77
    else:
        assert body["systemInstruction"]["parts"] == [{"text": "Be brief."}]
        assert body["generationConfig"]["maxOutputTokens"] == 77
    assert upstream_turns(up) == [("user", "Say hello.")]


LONG_N = 400


@pytest.mark.parametrize("route", RESPONSES_ROUTES)
def test_responses_long_stream_of_400_deltas_arrives_complete_and_in_order(openai_client, route):
    events = raw_events(openai_client, route, f"Go on. [[long:{LONG_N}]]")
    deltas = text_deltas(events)
    assert len(deltas) == LONG_N
    assert "".join(deltas) == "".join(f"w{k} " for k in range(LONG_N))
    assert_sequence_numbers_increase(events)
    assert events[-1].type == "response.completed"
    assert events[-1].response.usage.output_tokens == LONG_N


# --------------------------------------------------------------------------
# Reasoning


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("route", RESPONSES_ROUTES)
def test_responses_reasoning_summary_precedes_message(openai_client, route, stream):
    if stream:
        events = raw_events(openai_client, route, "Think first. [[think]]")
        assert_sequence_numbers_increase(events)
        summary = "".join(e.delta for e in events if e.type == "response.reasoning_summary_text.delta")
        assert summary == THINKING
        if route.upstream_dialect != "gemini":
            # Gemini sends a thought whole; the others in two deltas.
            assert [
                e.delta for e in events if e.type == "response.reasoning_summary_text.delta"
            ] == THINKING_DELTAS
        assert text_deltas(events) == HELLO_DELTAS
        resp = events[-1].response
    else:
        resp = openai_client.responses.create(model=route.model, input="Think first. [[think]]")
    assert [i.type for i in resp.output] == ["reasoning", "message"]
    assert [s.text for s in resp.output[0].summary] == [THINKING]
    assert resp.output_text == HELLO
    assert resp.status == "completed"


# --------------------------------------------------------------------------
# Tools


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("route", RESPONSES_ROUTES)
def test_responses_tool_call_has_exact_name_and_arguments(openai_client, route, stream):
    resp = responses_call(openai_client, route, "Weather in Paris? [[tool]]", stream, tools=RESPONSES_TOOLS)
    assert resp.status == "completed"
    assert [i.type for i in resp.output] == ["message", "function_call"]
    assert resp.output_text == "Checking."
    call = resp.output[1]
    assert call.name == "get_weather"
    assert json.loads(call.arguments) == TOOL_ARGS
    assert call.call_id
    assert call.status in (None, "completed")


@pytest.mark.parametrize("route", RESPONSES_ROUTES)
def test_responses_stream_helper_parses_strict_tool_arguments(openai_client, route):
    with openai_client.responses.stream(
        model=route.model, input="Weather in Paris? [[tool]]", tools=[STRICT_WEATHER_TOOL]
    ) as s:
        done = [e for e in s if e.type == "response.function_call_arguments.done"]
        final = s.get_final_response()
    assert len(done) == 1
    assert json.loads(done[0].arguments) == TOOL_ARGS
    calls = function_calls(final)
    assert len(calls) == 1
    assert calls[0].name == "get_weather"
    assert calls[0].parsed_arguments == TOOL_ARGS


@pytest.mark.parametrize("route", RESPONSES_ROUTES)
def test_responses_raw_stream_tool_call_argument_deltas_accumulate(openai_client, route):
    events = raw_events(openai_client, route, "Weather in Paris? [[tool]]", tools=RESPONSES_TOOLS)
    assert_sequence_numbers_increase(events)
    added = [e for e in events if e.type == "response.output_item.added" and e.item.type == "function_call"]
    assert len(added) == 1
    item = added[0].item
    assert item.name == "get_weather" and item.call_id
    deltas = [e for e in events if e.type == "response.function_call_arguments.delta"]
    assert deltas and all(d.item_id == item.id and d.output_index == added[0].output_index for d in deltas)
    assert json.loads("".join(d.delta for d in deltas)) == TOOL_ARGS
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert json.loads(done.arguments) == TOOL_ARGS
    final = events[-1].response
    assert events[-1].type == "response.completed"
    assert [(c.call_id, c.name) for c in function_calls(final)] == [(item.call_id, "get_weather")]


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("route", RESPONSES_ROUTES)
def test_responses_parallel_tool_calls_are_two_distinct_items(openai_client, route, stream):
    resp = responses_call(openai_client, route, "Paris and Rome? [[tools2]]", stream, tools=RESPONSES_TOOLS)
    calls = function_calls(resp)
    assert [c.name for c in calls] == ["get_weather", "get_forecast"]
    assert [json.loads(c.arguments) for c in calls] == [{"city": "Paris"}, {"city": "Rome"}]
    assert calls[0].call_id and calls[1].call_id and calls[0].call_id != calls[1].call_id
    assert calls[0].id != calls[1].id


# Codex's free-text patch tool: a custom tool with a grammar.
CUSTOM_PATCH_TOOL = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Edit files with a patch.",
    "format": {"type": "grammar", "syntax": "lark", "definition": 'start: "*** Begin Patch"'},
}
TRANSLATED_RESPONSES_ROUTES = [
    pytest.param(R_ANTH, id="translated-anthropic-upstream"),
    pytest.param(R_CHAT, id="translated-openai-upstream"),
    pytest.param(R_GEM, id="translated-gemini-upstream"),
]


def upstream_string_input_schema(body: dict, route) -> dict:
    """The schema the upstream was given for the one declared (custom) tool."""
    tool = body["tools"][0]
    if route.upstream_dialect == "openai":
        assert tool["type"] == "function" and tool["function"]["name"] == "apply_patch"
        return tool["function"]["parameters"]
    if route.upstream_dialect == "gemini":
        decl = tool["functionDeclarations"][0]
        assert decl["name"] == "apply_patch"
        return decl["parametersJsonSchema"]
    assert tool["name"] == "apply_patch"
    return tool["input_schema"]


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("route", TRANSLATED_RESPONSES_ROUTES)
def test_responses_custom_tool_is_called_back_as_a_custom_tool_call(stack, openai_client, route, stream):
    resp = responses_call(openai_client, route, "Patch it. [[tool]]", stream, tools=[CUSTOM_PATCH_TOOL])
    calls = [i for i in resp.output if i.type == "custom_tool_call"]
    assert len(calls) == 1 and not [i for i in resp.output if i.type == "function_call"]
    assert calls[0].name == "apply_patch" and calls[0].call_id
    # The mock calls the first tool with its usual arguments, not an `input` string:
    # the call's text is then their JSON.
    assert json.loads(calls[0].input) == TOOL_ARGS
    schema = upstream_string_input_schema(upstream_body(last_upstream(stack)), route)
    assert schema["properties"]["input"]["type"] == "string"
    assert 'start: "*** Begin Patch"' in schema["properties"]["input"]["description"]
    assert schema["required"] == ["input"]


@pytest.mark.parametrize("route", TRANSLATED_RESPONSES_ROUTES)
def test_responses_custom_tool_call_and_output_reach_the_upstream(stack, openai_client, route):
    patch = "*** Begin Patch\n*** End Patch"
    openai_client.responses.create(
        model=route.model,
        tools=[CUSTOM_PATCH_TOOL],
        input=[
            user("Patch it."),
            {"type": "custom_tool_call", "call_id": "call_P", "name": "apply_patch", "input": patch},
            {"type": "custom_tool_call_output", "call_id": "call_P", "output": "Done!"},
        ],
    )
    body = upstream_body(last_upstream(stack))
    # The call's text went as the `input` of a function call, its output as its result.
    if route.upstream_dialect == "openai":
        call = body["messages"][1]["tool_calls"][0]["function"]
        assert (call["name"], json.loads(call["arguments"])) == ("apply_patch", {"input": patch})
        assert body["messages"][2] == {"role": "tool", "tool_call_id": "call_P", "content": "Done!"}
    elif route.upstream_dialect == "gemini":
        call = body["contents"][1]["parts"][0]["functionCall"]
        assert (call["name"], call["args"]) == ("apply_patch", {"input": patch})
        assert body["contents"][2]["parts"][0]["functionResponse"]["response"] == {"output": "Done!"}
    else:
        call = body["messages"][1]["content"][0]
        assert (call["name"], call["input"]) == ("apply_patch", {"input": patch})
        assert body["messages"][2]["content"][0]["content"] == "Done!"


@pytest.mark.parametrize("route", RESPONSES_ROUTES)
def test_responses_tool_declarations_reach_upstream_in_its_dialect(stack, openai_client, route):
    openai_client.responses.create(model=route.model, input="Weather? [[tool]]", tools=RESPONSES_TOOLS)
    assert_tools_reached_upstream(last_upstream(stack), route)


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize(
    "result", [pytest.param("sunny, 21C", id="ascii"), pytest.param('Sonne ☀️ 21°C — “klar” \\ 日本語\nline 2', id="unicode")]
)
@pytest.mark.parametrize("route", RESPONSES_ROUTES)
def test_responses_function_call_output_round_trip_reaches_model(stack, openai_client, route, result, stream):
    first_turn = [user("Weather in Paris? [[tool]]")]
    first = openai_client.responses.create(model=route.model, input=first_turn, tools=RESPONSES_TOOLS)
    call = function_calls(first)[0]
    # The usual client loop: the previous output items go back as input.
    items = first_turn + [i.model_dump(exclude_none=True) for i in first.output]
    items.append({"type": "function_call_output", "call_id": call.call_id, "output": result})
    resp = responses_call(openai_client, route, items, stream, tools=RESPONSES_TOOLS)
    assert [i.type for i in resp.output] == ["message"]
    assert resp.output_text == f"Got tool result: {result}"
    assert upstream_turns(last_upstream(stack)) == [
        ("user", "Weather in Paris? [[tool]]"),
        ("assistant", "Checking."),
        ("call", "get_weather"),
        ("result", result),
    ]


@pytest.mark.parametrize("route", RESPONSES_ROUTES)
def test_responses_parallel_function_call_outputs_round_trip(openai_client, route):
    first_turn = [user("Paris and Rome? [[tools2]]")]
    first = openai_client.responses.create(model=route.model, input=first_turn, tools=RESPONSES_TOOLS)
    calls = function_calls(first)
    assert len(calls) == 2
    items = first_turn + [i.model_dump(exclude_none=True) for i in first.output]
    items += [
        {"type": "function_call_output", "call_id": c.call_id, "output": r}
        for c, r in zip(calls, ("Paris: sunny", "Rome: rainy"))
    ]
    resp = openai_client.responses.create(model=route.model, input=items, tools=RESPONSES_TOOLS)
    assert resp.output_text == parallel_results_answer(route)


# --------------------------------------------------------------------------
# previous_response_id: the gateway keeps the conversation and sends it whole
# to the upstream on the next turn.


@pytest.mark.parametrize("first_stream", STREAM)
@pytest.mark.parametrize("route", RESPONSES_ROUTES)
def test_responses_previous_response_id_continues_text_conversation(
    stack, openai_client, route, first_stream
):
    first = responses_call(openai_client, route, "My name is Ada.", first_stream)
    assert first.output_text == HELLO
    second = openai_client.responses.create(
        model=route.model, previous_response_id=first.id, input="What is my name?"
    )
    assert second.output_text == HELLO
    assert second.id != first.id
    assert second.previous_response_id == first.id
    up = last_upstream(stack)
    assert_upstream_call(up, route, stream=False)
    assert upstream_turns(up) == [
        ("user", "My name is Ada."),
        ("assistant", HELLO),
        ("user", "What is my name?"),
    ]


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("route", RESPONSES_ROUTES)
def test_responses_previous_response_id_with_function_call_output(stack, openai_client, route, stream):
    first = responses_call(openai_client, route, "Weather in Paris? [[tool]]", stream, tools=RESPONSES_TOOLS)
    call = function_calls(first)[0]
    second = responses_call(
        openai_client,
        route,
        [{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
        stream,
        tools=RESPONSES_TOOLS,
        previous_response_id=first.id,
    )
    assert second.output_text == "Got tool result: sunny"
    up = last_upstream(stack)
    assert_upstream_call(up, route, stream=stream)
    assert upstream_turns(up) == [
        ("user", "Weather in Paris? [[tool]]"),
        ("assistant", "Checking."),
        ("call", "get_weather"),
        ("result", "sunny"),
    ]


@pytest.mark.parametrize("route", RESPONSES_ROUTES)
def test_responses_three_turn_chain_of_previous_response_ids(stack, openai_client, route):
    r1 = openai_client.responses.create(model=route.model, input="One.")
    r2 = openai_client.responses.create(model=route.model, input="Two.", previous_response_id=r1.id)
    r3 = openai_client.responses.create(model=route.model, input="Three.", previous_response_id=r2.id)
    assert r3.output_text == HELLO
    assert len({r1.id, r2.id, r3.id}) == 3
    assert upstream_turns(last_upstream(stack)) == [
        ("user", "One."),
        ("assistant", HELLO),
        ("user", "Two."),
        ("assistant", HELLO),
        ("user", "Three."),
    ]


@pytest.mark.parametrize(
    "route",
    [
        pytest.param(R_ANTH, id="anthropic-upstream"),
        pytest.param(R_CHAT, id="openai-upstream"),
        pytest.param(R_GEM, id="gemini-upstream"),
    ],
)
def test_responses_unknown_previous_response_id_is_400_on_non_responses_upstream(stack, openai_client, route):
    before = mock_total(stack)
    with pytest.raises(openai.BadRequestError) as ei:
        openai_client.responses.create(model=route.model, input="hi", previous_response_id="resp_unknown_123")
    assert ei.value.status_code == 400
    assert "resp_unknown_123" in ei.value.message
    assert mock_total(stack) == before


def test_responses_store_false_answer_cannot_be_continued(stack, openai_client):
    first = openai_client.responses.create(model=R_ANTH.model, input="hi", store=False)
    assert first.output_text == HELLO
    with pytest.raises(openai.BadRequestError):
        openai_client.responses.create(model=R_ANTH.model, input="again", previous_response_id=first.id)


# --------------------------------------------------------------------------
# Errors before the first byte


def _request(client, route, text, stream):
    if stream:
        return raw_events(client, route, text)
    return client.responses.create(model=route.model, input=text)


def _openai_error_body_ok(e: openai.APIStatusError) -> None:
    assert isinstance(e.body, dict), f"error body is not JSON: {e.body!r}"
    assert isinstance(e.body.get("message"), str) and e.body["message"]


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("route", RESPONSES_ROUTES)
def test_responses_upstream_429_raises_rate_limit_error(openai_client, route, stream):
    with pytest.raises(openai.RateLimitError) as ei:
        _request(openai_client, route, "hi [[error:429]]", stream)
    assert ei.value.status_code == 429
    _openai_error_body_ok(ei.value)
    assert ei.value.body["message"] == "mock error 429"


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("route", RESPONSES_ROUTES)
def test_responses_upstream_500_raises_internal_server_error(openai_client, route, stream):
    with pytest.raises(openai.InternalServerError) as ei:
        _request(openai_client, route, "hi [[error:500]]", stream)
    assert ei.value.status_code == 500
    _openai_error_body_ok(ei.value)


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("route", RESPONSES_ROUTES)
def test_responses_upstream_529_becomes_503(openai_client, route, stream):
    with pytest.raises(openai.InternalServerError) as ei:
        _request(openai_client, route, "hi [[error:529]]", stream)
    assert ei.value.status_code == 503
    _openai_error_body_ok(ei.value)


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("route", RESPONSES_ROUTES)
def test_responses_upstream_400_raises_bad_request_error(openai_client, route, stream):
    with pytest.raises(openai.BadRequestError) as ei:
        _request(openai_client, route, "hi [[error:400]]", stream)
    assert ei.value.status_code == 400
    _openai_error_body_ok(ei.value)


@pytest.mark.parametrize("route", RESPONSES_ROUTES)
def test_responses_wrong_key_raises_authentication_error_without_upstream_call(stack, route):
    client = openai.OpenAI(
        api_key="sdk-wrong-key-9876543210", base_url=stack.gateway_url + "/v1", max_retries=0, timeout=20.0
    )
    before = mock_total(stack)
    with client, pytest.raises(openai.AuthenticationError) as ei:
        client.responses.create(model=route.model, input="hi")
    assert ei.value.status_code == 401
    _openai_error_body_ok(ei.value)
    assert mock_total(stack) == before


@pytest.mark.parametrize("stream", STREAM)
def test_responses_unrouted_model_raises_not_found_error(openai_client, stream):
    with pytest.raises(openai.NotFoundError) as ei:
        _request(openai_client, Route("no-such-model", "/v1/responses", "", False), "hi", stream)
    assert ei.value.status_code == 404
    _openai_error_body_ok(ei.value)


# --------------------------------------------------------------------------
# Failures after the stream started: the Responses stream carries an `error`
# event (and, when translated, `response.failed`); it must never end with
# `response.completed`, and the SDK's stream helper must raise.


def _assert_failed_stream(events, route) -> None:
    types = [e.type for e in events]
    assert "response.completed" not in types, f"a failed stream ended as completed: {types}"
    assert types[0] == "response.created"
    assert "error" in types, f"no error event: {types}"
    assert_sequence_numbers_increase(events)
    err = next(e for e in events if e.type == "error")
    assert isinstance(err.message, str) and err.message
    failed = [e for e in events if e.type == "response.failed"]
    if route.translated:
        assert types[-1] == "response.failed", types
    for f in failed:
        assert f.response.status == "failed"
        assert f.response.id == events[0].response.id, "response.failed names another response"
        assert f.response.error is not None and f.response.error.message


def _stream_helper_error(client, route, text) -> Exception:
    with pytest.raises(Exception) as ei:
        with client.responses.stream(model=route.model, input=text) as s:
            for _ in s:
                pass
            s.get_final_response()
    return ei.value


@pytest.mark.parametrize("directive", ["midstream-error", "disconnect"])
@pytest.mark.parametrize("route", RESPONSES_ROUTES)
def test_responses_failure_after_first_delta_ends_stream_with_error_event(openai_client, route, directive):
    try:
        events = raw_events(openai_client, route, f"hi [[{directive}]]")
    except openai.APIError as exc:
        # Raising is an acceptable signal too (for a cut connection).
        assert not isinstance(exc, openai.APIResponseValidationError), f"unparseable event: {exc}"
        return
    assert text_deltas(events) == ["Hello"]
    _assert_failed_stream(events, route)


@pytest.mark.parametrize("directive", ["midstream-error", "disconnect"])
@pytest.mark.parametrize("route", RESPONSES_ROUTES)
def test_responses_stream_helper_raises_on_failure_after_first_delta(openai_client, route, directive):
    exc = _stream_helper_error(openai_client, route, f"hi [[{directive}]]")
    assert not isinstance(exc, openai.APIResponseValidationError), f"unparseable event: {exc}"
    if isinstance(exc, RuntimeError):
        # The helper's own signal for a stream that never completed; any other
        # RuntimeError (identity/ordering checks) means malformed events.
        assert str(exc) == "Didn't receive a `response.completed` event.", str(exc)
    else:
        assert isinstance(exc, openai.APIError), f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize("route", RESPONSES_ROUTES)
def test_responses_first_event_error_raises_api_error(openai_client, route):
    with pytest.raises(openai.APIError) as ei:
        raw_events(openai_client, route, "hi [[first-event-error]]")
    assert not isinstance(ei.value, openai.APIResponseValidationError)
    assert isinstance(ei.value.body, dict) and ei.value.body.get("message")

