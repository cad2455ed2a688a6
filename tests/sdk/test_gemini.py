"""The `google-genai` SDK (`client.models.generate_content` and
`generate_content_stream`) through the gateway, on every upstream protocol: a
Gemini upstream (pass-through) and Anthropic, OpenAI Chat and OpenAI Responses
upstreams (translated). The SDK parses every response and stream chunk into its
pydantic models; the tests then check the exact values."""

from __future__ import annotations

import json

import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from sdk_helpers import (
    ACCESS_KEY,
    CACHED_TOKENS,
    FORECAST_SCHEMA,
    G_ANTH,
    G_PASS,
    GEMINI_ROUTES,
    HELLO,
    HELLO_DELTAS,
    STREAM,
    THINKING,
    TOOL_ARGS,
    WEATHER_SCHEMA,
    Route,
    assert_upstream_call,
    last_upstream,
    mock_input_tokens,
    mock_total,
    upstream_body,
    upstream_turns,
)

STOP = types.FinishReason.STOP

# Function declarations as the SDK documents them: JSON Schema in
# `parameters_json_schema` (the SDK sends this key in snake_case, which the
# Gemini API accepts like its camelCase form).
WEATHER_DECL = types.FunctionDeclaration(
    name="get_weather", description="Current weather in a city.", parameters_json_schema=WEATHER_SCHEMA
)
FORECAST_DECL = types.FunctionDeclaration(
    name="get_forecast", description="Tomorrow's forecast for a city.", parameters_json_schema=FORECAST_SCHEMA
)
# The same declarations with the SDK's OpenAPI-style `Schema` (`parameters`).
WEATHER_DECL_SCHEMA = types.FunctionDeclaration(
    name="get_weather",
    description="Current weather in a city.",
    parameters=types.Schema(
        type="OBJECT",
        properties={"city": types.Schema(type="STRING"), "unit": types.Schema(type="STRING", enum=["c", "f"])},
        required=["city"],
    ),
)
FORECAST_DECL_SCHEMA = types.FunctionDeclaration(
    name="get_forecast",
    description="Tomorrow's forecast for a city.",
    parameters=types.Schema(type="OBJECT", properties={"city": types.Schema(type="STRING")}, required=["city"]),
)
NO_AFC = types.AutomaticFunctionCallingConfig(disable=True)


def tool_config(*decls, **kw) -> types.GenerateContentConfig:
    decls = decls or (WEATHER_DECL, FORECAST_DECL)
    return types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=list(decls))], automatic_function_calling=NO_AFC, **kw
    )


def user_text(text: str) -> types.Content:
    return types.Content(role="user", parts=[types.Part(text=text)])


def generate(client, route, contents, stream, config=None):
    """One call, as a list of responses: the stream's chunks, or the one answer."""
    if stream:
        chunks = list(client.models.generate_content_stream(model=route.model, contents=contents, config=config))
        assert chunks, "no chunk received"
        return chunks
    return [client.models.generate_content(model=route.model, contents=contents, config=config)]


def parts_of(chunks) -> list[types.Part]:
    """All parts of candidate 0 across chunks, in order."""
    out = []
    for c in chunks:
        assert c.candidates and len(c.candidates) == 1
        content = c.candidates[0].content
        if content is not None and content.parts:
            out.extend(content.parts)
    return out


def text_of(chunks) -> str:
    return "".join(p.text for p in parts_of(chunks) if p.text and not p.thought)


def calls_of(chunks) -> list[types.FunctionCall]:
    return [p.function_call for p in parts_of(chunks) if p.function_call]


def finish_reasons(chunks) -> list:
    return [c.candidates[0].finish_reason for c in chunks]


def assert_usage(usage, up, output_tokens: int = 3) -> None:
    """Gemini usage: promptTokenCount includes the cached tokens."""
    assert usage is not None
    assert usage.prompt_token_count == mock_input_tokens(up) + CACHED_TOKENS
    assert usage.cached_content_token_count == CACHED_TOKENS
    assert usage.candidates_token_count == output_tokens
    assert usage.total_token_count == (
        usage.prompt_token_count + usage.candidates_token_count + (usage.thoughts_token_count or 0)
    )


# --------------------------------------------------------------------------
# Text


@pytest.mark.parametrize("route", GEMINI_ROUTES)
def test_genai_nonstream_text_is_exact_with_stop_and_usage(stack, genai_client, route):
    resp = genai_client.models.generate_content(model=route.model, contents="Say hello.")
    up = last_upstream(stack)
    assert_upstream_call(up, route, stream=False)

    assert resp.text == HELLO
    assert len(resp.candidates) == 1
    cand = resp.candidates[0]
    assert cand.content.role == "model"
    assert [p.text for p in cand.content.parts] == [HELLO]
    assert cand.finish_reason == STOP
    assert resp.function_calls is None
    assert resp.response_id
    assert_usage(resp.usage_metadata, up)


@pytest.mark.parametrize("route", GEMINI_ROUTES)
def test_genai_stream_text_arrives_as_word_chunks_with_stop_on_last(stack, genai_client, route):
    chunks = list(genai_client.models.generate_content_stream(model=route.model, contents="Say hello."))
    up = last_upstream(stack)
    assert_upstream_call(up, route, stream=True)

    assert [p.text for p in parts_of(chunks) if p.text] == HELLO_DELTAS
    assert text_of(chunks) == HELLO
    assert finish_reasons(chunks) == [None] * (len(chunks) - 1) + [STOP]
    assert all(c.candidates[0].content.role == "model" for c in chunks if c.candidates[0].content)
    assert len({c.response_id for c in chunks}) == 1, "responseId differs within one stream"
    assert_usage(chunks[-1].usage_metadata, up)


@pytest.mark.parametrize("route", GEMINI_ROUTES)
def test_genai_v1beta_api_version_works_too(stack, route):
    client = genai.Client(
        api_key=ACCESS_KEY,
        http_options=types.HttpOptions(base_url=stack.gateway_url, api_version="v1beta", timeout=20000),
    )
    with client:
        assert client.models.generate_content(model=route.model, contents="Say hello.").text == HELLO
        chunks = list(client.models.generate_content_stream(model=route.model, contents="Say hello."))
    assert text_of(chunks) == HELLO
    assert_upstream_call(last_upstream(stack), route, stream=True)


@pytest.mark.parametrize("route", GEMINI_ROUTES)
def test_genai_config_reaches_upstream_in_its_dialect(stack, genai_client, route):
    config = types.GenerateContentConfig(
        system_instruction="Be brief.", max_output_tokens=77, temperature=0.5, stop_sequences=["END"]
    )
    resp = genai_client.models.generate_content(model=route.model, contents="Say hello.", config=config)
    assert resp.text == HELLO
    up = last_upstream(stack)
    body = upstream_body(up)
    d = route.upstream_dialect
    if d == "gemini":
        assert body["systemInstruction"]["parts"] == [{"text": "Be brief."}]
        gc = body["generationConfig"]
        assert (gc["maxOutputTokens"], gc["temperature"], gc["stopSequences"]) == (77, 0.5, ["END"])
    elif d == "anthropic":
        system = body["system"]
        assert (system if isinstance(system, str) else "".join(b["text"] for b in system)) == "Be brief."
        assert (body["max_tokens"], body["temperature"], body["stop_sequences"]) == (77, 0.5, ["END"])
    elif d == "openai":
        assert body["messages"][0] == {"role": "system", "content": "Be brief."}
        assert body.get("max_completion_tokens", body.get("max_tokens")) == 77
        assert body["temperature"] == 0.5
        assert body["stop"] in (["END"], "END")
    else:
        # Responses has no stop sequences (dropped, see README).
        system = body.get("instructions")
        if system is None:
            system = "".join(
                t
                for i in body["input"]
                if i.get("role") in ("system", "developer")
                for t in ([i["content"]] if isinstance(i["content"], str) else [c["text"] for c in i["content"]])
            )
        assert system == "Be brief."
        assert (body["max_output_tokens"], body["temperature"]) == (77, 0.5)
    assert upstream_turns(up) == [("user", "Say hello.")]


@pytest.mark.parametrize("route", GEMINI_ROUTES)
def test_genai_chat_session_sends_the_whole_history(stack, genai_client, route):
    chat = genai_client.chats.create(model=route.model)
    assert chat.send_message("My name is Ada.").text == HELLO
    assert chat.send_message("What is my name?").text == HELLO
    assert upstream_turns(last_upstream(stack)) == [
        ("user", "My name is Ada."),
        ("assistant", HELLO),
        ("user", "What is my name?"),
    ]


LONG_N = 400


@pytest.mark.parametrize("route", GEMINI_ROUTES)
def test_genai_long_stream_of_400_chunks_arrives_complete_and_in_order(genai_client, route):
    chunks = list(genai_client.models.generate_content_stream(model=route.model, contents=f"Go on. [[long:{LONG_N}]]"))
    texts = [p.text for p in parts_of(chunks) if p.text]
    assert len(texts) == LONG_N
    assert "".join(texts) == "".join(f"w{k} " for k in range(LONG_N))
    assert chunks[-1].usage_metadata.candidates_token_count == LONG_N


@pytest.mark.parametrize("api_version", [None, "v1beta"], ids=["default-api-version", "v1beta"])
def test_genai_models_list_shows_configured_models(stack, api_version):
    client = genai.Client(
        api_key=ACCESS_KEY,
        http_options=types.HttpOptions(base_url=stack.gateway_url, api_version=api_version, timeout=20000),
    )
    with client:
        names = [m.name for m in client.models.list()]
    assert "models/gemini-*" in names
    assert "models/claude-*" in names


# --------------------------------------------------------------------------
# Thinking


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("route", GEMINI_ROUTES)
def test_genai_thought_parts_precede_text(genai_client, route, stream):
    config = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(include_thoughts=True))
    chunks = generate(genai_client, route, "Think first. [[think]]", stream, config)
    parts = parts_of(chunks)
    kinds = ["thought" if p.thought else "text" for p in parts if p.text]
    assert kinds == sorted(kinds, key=lambda k: k != "thought"), "a thought after the answer text"
    assert "".join(p.text for p in parts if p.thought) == THINKING
    assert text_of(chunks) == HELLO
    assert finish_reasons(chunks)[-1] == STOP
    if not stream:
        assert [(p.text, bool(p.thought)) for p in parts] == [(THINKING, True), (HELLO, False)]
    if route.upstream_dialect == "gemini":
        # Gemini's own signature comes back untouched (the SDK decodes base64).
        assert [p.thought_signature for p in parts if p.thought] == [b"sig_mock_1"]
        assert chunks[-1].usage_metadata.thoughts_token_count == 2


@pytest.mark.parametrize(
    "route", [pytest.param(G_PASS, id="passthrough-gemini-upstream"), pytest.param(G_ANTH, id="translated-anthropic-upstream")]
)
def test_genai_thinking_config_reaches_upstream(stack, genai_client, route):
    config = types.GenerateContentConfig(
        max_output_tokens=4096,
        thinking_config=types.ThinkingConfig(include_thoughts=True, thinking_budget=1024),
    )
    genai_client.models.generate_content(model=route.model, contents="Think first. [[think]]", config=config)
    body = upstream_body(last_upstream(stack))
    if route.upstream_dialect == "gemini":
        tc = body["generationConfig"]["thinkingConfig"]
        assert tc.get("thinkingBudget", tc.get("thinking_budget")) == 1024
    else:
        assert body.get("thinking") == {"type": "enabled", "budget_tokens": 1024}
        assert body["max_tokens"] == 4096


# --------------------------------------------------------------------------
# Function calling


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("route", GEMINI_ROUTES)
def test_genai_function_call_has_exact_name_and_args(genai_client, route, stream):
    chunks = generate(genai_client, route, "Weather in Paris? [[tool]]", stream, tool_config())
    assert text_of(chunks) == "Checking."
    calls = calls_of(chunks)
    assert len(calls) == 1
    assert calls[0].name == "get_weather"
    assert calls[0].args == TOOL_ARGS
    assert finish_reasons(chunks)[-1] == STOP
    if not stream:
        resp = chunks[0]
        assert [fc.name for fc in resp.function_calls] == ["get_weather"]
        assert resp.function_calls[0].args == TOOL_ARGS
        assert [bool(p.text) for p in resp.candidates[0].content.parts] == [True, False]


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("route", GEMINI_ROUTES)
def test_genai_parallel_function_calls_are_two_distinct_calls(genai_client, route, stream):
    chunks = generate(genai_client, route, "Paris and Rome? [[tools2]]", stream, tool_config())
    calls = calls_of(chunks)
    assert [c.name for c in calls] == ["get_weather", "get_forecast"]
    assert [c.args for c in calls] == [{"city": "Paris"}, {"city": "Rome"}]
    if route.translated:
        # Translated calls carry the upstream's ids, which must differ.
        assert calls[0].id and calls[1].id and calls[0].id != calls[1].id


def _lower_types(schema):
    """The SDK's `Schema` uses upper-case type names (OBJECT, STRING)."""
    if isinstance(schema, dict):
        return {k: (v.lower() if k == "type" and isinstance(v, str) else _lower_types(v)) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_lower_types(v) for v in schema]
    return schema


@pytest.mark.parametrize(
    "decls",
    [
        pytest.param((WEATHER_DECL, FORECAST_DECL), id="parameters_json_schema"),
        pytest.param((WEATHER_DECL_SCHEMA, FORECAST_DECL_SCHEMA), id="parameters-schema"),
    ],
)
@pytest.mark.parametrize("route", GEMINI_ROUTES)
def test_genai_function_declarations_reach_upstream_in_its_dialect(stack, genai_client, route, decls):
    genai_client.models.generate_content(model=route.model, contents="Weather? [[tool]]", config=tool_config(*decls))
    body = upstream_body(last_upstream(stack))
    tools = body["tools"]
    d = route.upstream_dialect
    if d == "gemini":
        found = [f for t in tools for f in t.get("functionDeclarations", [])]
        names = [f["name"] for f in found]
        schemas = [
            f.get("parametersJsonSchema", f.get("parameters_json_schema", f.get("parameters"))) for f in found
        ]
    elif d == "anthropic":
        names = [t["name"] for t in tools]
        schemas = [t["input_schema"] for t in tools]
    elif d == "openai":
        names = [t["function"]["name"] for t in tools]
        schemas = [t["function"]["parameters"] for t in tools]
    else:
        names = [t["name"] for t in tools]
        schemas = [t["parameters"] for t in tools]
    assert names == ["get_weather", "get_forecast"]
    assert [_lower_types(s) for s in schemas] == [WEATHER_SCHEMA, FORECAST_SCHEMA]


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize(
    "result,expected",
    [
        pytest.param({"output": "sunny, 21C"}, "sunny, 21C", id="output-string"),
        pytest.param({"temp": 21}, '{"temp":21}', id="object"),
        pytest.param({"output": "Sonne ☀️ 21°C — “klar” \\ 日本語\nline 2"}, "Sonne ☀️ 21°C — “klar” \\ 日本語\nline 2", id="unicode"),
    ],
)
@pytest.mark.parametrize("route", GEMINI_ROUTES)
def test_genai_function_response_round_trip_reaches_model(stack, genai_client, route, result, expected, stream):
    first_turn = [user_text("Weather in Paris? [[tool]]")]
    first = genai_client.models.generate_content(model=route.model, contents=first_turn, config=tool_config())
    call = first.function_calls[0]
    contents = first_turn + [
        first.candidates[0].content,
        types.Content(
            role="user",
            parts=[types.Part(function_response=types.FunctionResponse(id=call.id, name=call.name, response=result))],
        ),
    ]
    chunks = generate(genai_client, route, contents, stream, tool_config())
    assert text_of(chunks) == f"Got tool result: {expected}"
    assert calls_of(chunks) == []
    assert finish_reasons(chunks)[-1] == STOP
    turns = upstream_turns(last_upstream(stack))
    assert turns[:3] == [("user", "Weather in Paris? [[tool]]"), ("assistant", "Checking."), ("call", "get_weather")]
    assert len(turns) == 4
    kind, text = turns[3]
    assert kind == "result"
    if isinstance(result.get("output"), str):
        assert text == expected
    else:
        assert json.loads(text) == result


@pytest.mark.parametrize("with_ids", [True, False], ids=["with-ids", "name-only"])
@pytest.mark.parametrize("route", GEMINI_ROUTES)
def test_genai_parallel_function_responses_round_trip(stack, genai_client, route, with_ids):
    """Two results in one user turn; without ids (as Gemini itself sends them)
    they are matched to the calls by name and order."""
    first_turn = [user_text("Paris and Rome? [[tools2]]")]
    first = genai_client.models.generate_content(model=route.model, contents=first_turn, config=tool_config())
    calls = first.function_calls
    assert len(calls) == 2
    responses = [
        types.Part(
            function_response=types.FunctionResponse(
                id=c.id if with_ids else None, name=c.name, response={"output": out}
            )
        )
        for c, out in zip(calls, ("Paris: sunny", "Rome: rainy"))
    ]
    contents = first_turn + [first.candidates[0].content, types.Content(role="user", parts=responses)]
    resp = genai_client.models.generate_content(model=route.model, contents=contents, config=tool_config())
    if route.upstream_dialect == "openai":
        assert resp.text == "Got tool result: Rome: rainy"
    else:
        assert resp.text == "Got tool result: Paris: sunny\nRome: rainy"
    body = upstream_body(last_upstream(stack))
    if route.upstream_dialect == "anthropic":
        results = body["messages"][-1]["content"]
        uses = [b for b in body["messages"][-2]["content"] if b["type"] == "tool_use"]
        assert [r["tool_use_id"] for r in results] == [u["id"] for u in uses]
        assert [r["content"] for r in results] == ["Paris: sunny", "Rome: rainy"]
    elif route.upstream_dialect == "openai":
        tool_msgs = [m for m in body["messages"] if m["role"] == "tool"]
        ids = [c["id"] for c in body["messages"][-3]["tool_calls"]]
        assert [(m["tool_call_id"], m["content"]) for m in tool_msgs] == list(zip(ids, ("Paris: sunny", "Rome: rainy")))
    elif route.upstream_dialect == "responses":
        fcs = [i["call_id"] for i in body["input"] if i.get("type") == "function_call"]
        outs = [(i["call_id"], i["output"]) for i in body["input"] if i.get("type") == "function_call_output"]
        assert outs == list(zip(fcs, ("Paris: sunny", "Rome: rainy")))


def test_genai_pass_through_function_call_keeps_thought_signature(stack, genai_client):
    """Gemini's function-call thought signature reaches the client and goes back
    upstream unchanged on the next turn (Gemini rejects a turn without it)."""
    first_turn = [user_text("Weather in Paris? [[tool]]")]
    first = genai_client.models.generate_content(model=G_PASS.model, contents=first_turn, config=tool_config())
    call_parts = [p for p in first.candidates[0].content.parts if p.function_call]
    assert [p.thought_signature for p in call_parts] == [b"sig_tool_1"]
    contents = first_turn + [
        first.candidates[0].content,
        types.Content(role="user", parts=[types.Part.from_function_response(name="get_weather", response={"output": "ok"})]),
    ]
    assert genai_client.models.generate_content(model=G_PASS.model, contents=contents, config=tool_config()).text == (
        "Got tool result: ok"
    )
    model_turn = upstream_body(last_upstream(stack))["contents"][1]
    sigs = [p.get("thoughtSignature", p.get("thought_signature")) for p in model_turn["parts"] if "functionCall" in p]
    assert sigs == ["c2lnX3Rvb2xfMQ=="]


# --------------------------------------------------------------------------
# Errors before the first byte


def _request(client, route, text, stream):
    if stream:
        return list(client.models.generate_content_stream(model=route.model, contents=text))
    return client.models.generate_content(model=route.model, contents=text)


ERROR_CASES = [
    pytest.param(429, genai_errors.ClientError, 429, "RESOURCE_EXHAUSTED", id="429"),
    pytest.param(400, genai_errors.ClientError, 400, "INVALID_ARGUMENT", id="400"),
    pytest.param(500, genai_errors.ServerError, 500, "INTERNAL", id="500"),
    pytest.param(529, genai_errors.ServerError, 503, "UNAVAILABLE", id="529-as-503"),
]


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("code,exc_type,status,status_name", ERROR_CASES)
@pytest.mark.parametrize("route", GEMINI_ROUTES)
def test_genai_upstream_error_raises_typed_error_with_code_and_status(
    genai_client, route, code, exc_type, status, status_name, stream
):
    with pytest.raises(exc_type) as ei:
        _request(genai_client, route, f"hi [[error:{code}]]", stream)
    e = ei.value
    assert e.code == status
    assert e.status == status_name
    assert e.message == f"mock error {code}"
    assert isinstance(e.details, dict) and e.details["error"]["code"] == status


def test_genai_wrong_key_raises_401_without_upstream_call(stack):
    client = genai.Client(
        api_key="sdk-wrong-key-9876543210", http_options=types.HttpOptions(base_url=stack.gateway_url, timeout=20000)
    )
    before = mock_total(stack)
    with client, pytest.raises(genai_errors.ClientError) as ei:
        client.models.generate_content(model=G_PASS.model, contents="hi")
    assert ei.value.code == 401
    assert ei.value.status == "UNAUTHENTICATED"
    assert mock_total(stack) == before, "a request with a wrong key reached the upstream"


def test_genai_sdk_sends_its_key_as_x_goog_api_key(genai_client):
    """The gateway accepts the SDK's own header (checked here so a change in the
    SDK shows up as such, not as an auth failure)."""
    headers = genai_client._api_client._http_options.headers
    assert headers.get("x-goog-api-key") == ACCESS_KEY
    assert "authorization" not in {k.lower() for k in headers}


@pytest.mark.parametrize("stream", STREAM)
def test_genai_unrouted_model_raises_404(genai_client, stream):
    with pytest.raises(genai_errors.ClientError) as ei:
        _request(genai_client, Route("no-such-model", "/v1beta/models/no-such-model", "", False), "hi", stream)
    assert ei.value.code == 404
    assert ei.value.status == "NOT_FOUND"


# --------------------------------------------------------------------------
# Failures after the stream started: an `{"error": ...}` chunk (or a cut
# stream); the SDK's iterator must raise, never end as if complete.


def _stream_until_error(client, route, text):
    texts: list[str] = []
    try:
        for chunk in client.models.generate_content_stream(model=route.model, contents=text):
            texts.extend(p.text for p in parts_of([chunk]) if p.text)
    except Exception as exc:  # noqa: BLE001 - the type is asserted by the caller
        return texts, exc
    return texts, None


@pytest.mark.parametrize("route", GEMINI_ROUTES)
def test_genai_midstream_error_raises_server_error_after_first_chunk(genai_client, route):
    texts, exc = _stream_until_error(genai_client, route, "hi [[midstream-error]]")
    assert exc is not None, f"stream ended cleanly after {texts!r}; expected an error"
    assert isinstance(exc, genai_errors.ServerError), f"{type(exc).__name__}: {exc}"
    assert texts == ["Hello"]
    assert exc.code in (500, 503)
    assert exc.message == "mock overloaded"


@pytest.mark.parametrize("route", GEMINI_ROUTES)
def test_genai_first_event_error_raises_with_no_text(genai_client, route):
    texts, exc = _stream_until_error(genai_client, route, "hi [[first-event-error]]")
    assert exc is not None, "stream ended cleanly; expected an error"
    assert isinstance(exc, genai_errors.ServerError), f"{type(exc).__name__}: {exc}"
    assert texts == []


@pytest.mark.parametrize("route", GEMINI_ROUTES)
def test_genai_upstream_disconnect_midstream_raises(genai_client, route):
    texts, exc = _stream_until_error(genai_client, route, "hi [[disconnect]]")
    assert exc is not None, f"stream ended cleanly after {texts!r}; a cut stream must raise"
    assert isinstance(exc, genai_errors.APIError) or "httpx" in type(exc).__module__, f"{type(exc).__name__}: {exc}"
    assert texts == ["Hello"]
