"""What each SDK sends, as every translated upstream receives it (read back from
the mock's request log): system prompt, turns, output limit, stop sequences,
images and tool choice, for all four client dialects on the three upstream
protocols that are not their own."""

from __future__ import annotations

import base64

import pytest
from google.genai import types as gt

from sdk_helpers import (
    A_GEM,
    A_RESP,
    A_XLATE,
    ANTHROPIC_TOOLS,
    G_ANTH,
    G_CHAT,
    G_RESP,
    HELLO,
    O_GEM,
    O_RESP,
    O_XLATE,
    OPENAI_TOOLS,
    R_ANTH,
    R_CHAT,
    R_GEM,
    RESPONSES_TOOLS,
    FORECAST_SCHEMA,
    WEATHER_SCHEMA,
    last_upstream,
    upstream_body,
    upstream_turns,
    user,
)

PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
PNG = base64.b64decode(PNG_B64)

TRANSLATED = [
    pytest.param("anthropic", A_XLATE, id="anthropic-sdk-to-openai"),
    pytest.param("anthropic", A_RESP, id="anthropic-sdk-to-responses"),
    pytest.param("anthropic", A_GEM, id="anthropic-sdk-to-gemini"),
    pytest.param("openai", O_XLATE, id="openai-sdk-to-anthropic"),
    pytest.param("openai", O_RESP, id="openai-sdk-to-responses"),
    pytest.param("openai", O_GEM, id="openai-sdk-to-gemini"),
    pytest.param("responses", R_ANTH, id="responses-sdk-to-anthropic"),
    pytest.param("responses", R_CHAT, id="responses-sdk-to-openai"),
    pytest.param("responses", R_GEM, id="responses-sdk-to-gemini"),
    pytest.param("gemini", G_ANTH, id="genai-sdk-to-anthropic"),
    pytest.param("gemini", G_CHAT, id="genai-sdk-to-openai"),
    pytest.param("gemini", G_RESP, id="genai-sdk-to-responses"),
]


@pytest.fixture
def clients(anthropic_client, openai_client, genai_client):
    return {"anthropic": anthropic_client, "openai": openai_client, "gemini": genai_client}


# --------------------------------------------------------------------------
# Reading an upstream request in its own dialect


def system_text(body: dict, dialect: str) -> str | None:
    if dialect == "anthropic":
        s = body.get("system")
        return s if isinstance(s, str) or s is None else "".join(b["text"] for b in s)
    if dialect == "openai":
        sys_msgs = [m["content"] for m in body["messages"] if m["role"] in ("system", "developer")]
        return "".join(c if isinstance(c, str) else "".join(p["text"] for p in c) for c in sys_msgs) or None
    if dialect == "responses":
        if body.get("instructions") is not None:
            return body["instructions"]
        items = [i for i in body["input"] if i.get("role") in ("system", "developer")]
        return "".join(i["content"] if isinstance(i["content"], str) else "".join(p["text"] for p in i["content"]) for i in items) or None
    si = body.get("systemInstruction")
    return None if si is None else "".join(p["text"] for p in si["parts"])


def output_limit(body: dict, dialect: str):
    return {
        "anthropic": lambda: body.get("max_tokens"),
        "openai": lambda: body.get("max_completion_tokens", body.get("max_tokens")),
        "responses": lambda: body.get("max_output_tokens"),
        "gemini": lambda: body.get("generationConfig", {}).get("maxOutputTokens"),
    }[dialect]()


def stop_sequences(body: dict, dialect: str):
    v = {
        "anthropic": lambda: body.get("stop_sequences"),
        "openai": lambda: body.get("stop"),
        "responses": lambda: body.get("stop"),
        "gemini": lambda: body.get("generationConfig", {}).get("stopSequences"),
    }[dialect]()
    return [v] if isinstance(v, str) else v


def _data_url(url: str) -> tuple[str, str]:
    assert url.startswith("data:"), url[:40]
    head, data = url[len("data:"):].split(",", 1)
    mime, enc = head.split(";", 1)
    assert enc == "base64"
    return mime, data


def images(body: dict, dialect: str) -> list[tuple[str, str]]:
    """(media type, base64 data) of every image, in order."""
    out = []
    if dialect == "anthropic":
        for m in body["messages"]:
            for b in m["content"] if isinstance(m["content"], list) else []:
                if b["type"] == "image":
                    assert b["source"]["type"] == "base64"
                    out.append((b["source"]["media_type"], b["source"]["data"]))
    elif dialect == "openai":
        for m in body["messages"]:
            for p in m["content"] if isinstance(m.get("content"), list) else []:
                if p["type"] == "image_url":
                    out.append(_data_url(p["image_url"]["url"]))
    elif dialect == "responses":
        for i in body["input"]:
            for p in i.get("content") if isinstance(i.get("content"), list) else []:
                if p["type"] == "input_image":
                    out.append(_data_url(p["image_url"]))
    else:
        for c in body["contents"]:
            for p in c["parts"]:
                if "inlineData" in p:
                    d = p["inlineData"]
                    out.append((d.get("mimeType", d.get("mime_type")), d["data"]))
    return out


# --------------------------------------------------------------------------
# System prompt, turns, output limit, stop sequences


def _send_conversation(sdk, clients, route):
    """system "Be brief.", user "first", assistant "second", user "third";
    output limit 77; stop sequence END (not in Responses)."""
    if sdk == "anthropic":
        clients["anthropic"].messages.create(
            model=route.model,
            max_tokens=77,
            system="Be brief.",
            stop_sequences=["END"],
            messages=[user("first"), {"role": "assistant", "content": "second"}, user("third")],
        )
    elif sdk == "openai":
        clients["openai"].chat.completions.create(
            model=route.model,
            max_completion_tokens=77,
            stop=["END"],
            messages=[
                {"role": "system", "content": "Be brief."},
                user("first"),
                {"role": "assistant", "content": "second"},
                user("third"),
            ],
        )
    elif sdk == "responses":
        r = clients["openai"].responses.create(
            model=route.model,
            instructions="Be brief.",
            max_output_tokens=77,
            input=[user("first"), {"role": "assistant", "content": "second"}, user("third")],
        )
        assert r.output_text == HELLO
    else:
        r = clients["gemini"].models.generate_content(
            model=route.model,
            contents=[
                gt.Content(role="user", parts=[gt.Part(text="first")]),
                gt.Content(role="model", parts=[gt.Part(text="second")]),
                gt.Content(role="user", parts=[gt.Part(text="third")]),
            ],
            config=gt.GenerateContentConfig(system_instruction="Be brief.", max_output_tokens=77, stop_sequences=["END"]),
        )
        assert r.text == HELLO


@pytest.mark.parametrize("sdk,route", TRANSLATED)
def test_system_turns_limit_and_stop_reach_upstream_in_its_dialect(stack, clients, sdk, route):
    _send_conversation(sdk, clients, route)
    up = last_upstream(stack)
    body = upstream_body(up)
    d = route.upstream_dialect
    assert system_text(body, d) == "Be brief."
    assert upstream_turns(up) == [("user", "first"), ("assistant", "second"), ("user", "third")]
    assert output_limit(body, d) == 77
    if sdk == "responses" or d == "responses":
        # The Responses API has no stop sequences.
        assert stop_sequences(body, d) is None
    else:
        assert stop_sequences(body, d) == ["END"]


# --------------------------------------------------------------------------
# Images


def _send_image(sdk, clients, route):
    if sdk == "anthropic":
        content = [
            {"type": "text", "text": "look"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}},
        ]
        clients["anthropic"].messages.create(model=route.model, max_tokens=32, messages=[{"role": "user", "content": content}])
    elif sdk == "openai":
        content = [
            {"type": "text", "text": "look"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
        ]
        clients["openai"].chat.completions.create(model=route.model, messages=[{"role": "user", "content": content}])
    elif sdk == "responses":
        content = [
            {"type": "input_text", "text": "look"},
            {"type": "input_image", "image_url": f"data:image/png;base64,{PNG_B64}", "detail": "auto"},
        ]
        clients["openai"].responses.create(model=route.model, input=[{"role": "user", "content": content}])
    else:
        # The SDK's own way to attach bytes (it sends `inlineData` with a
        # snake_case `mime_type` and URL-safe base64, both valid for Gemini).
        clients["gemini"].models.generate_content(
            model=route.model,
            contents=[gt.Content(role="user", parts=[gt.Part(text="look"), gt.Part.from_bytes(data=PNG, mime_type="image/png")])],
        )


@pytest.mark.parametrize("sdk,route", TRANSLATED)
def test_base64_image_reaches_upstream_in_its_dialect(stack, clients, sdk, route):
    _send_image(sdk, clients, route)
    up = last_upstream(stack)
    found = images(upstream_body(up), route.upstream_dialect)
    assert len(found) == 1
    mime, data = found[0]
    assert mime == "image/png"
    if route.upstream_dialect == "gemini":
        # Gemini decodes standard and URL-safe base64 alike.
        assert base64.urlsafe_b64decode(data.replace("+", "-").replace("/", "_")) == PNG
    else:
        # Anthropic and OpenAI want standard base64.
        assert data == PNG_B64
    assert upstream_turns(up) == [("user", "look")]


# --------------------------------------------------------------------------
# Tool choice

CHOICES = ["auto", "required", "none", "named"]

CLIENT_CHOICE = {
    "anthropic": {
        "auto": {"type": "auto"},
        "required": {"type": "any"},
        "none": {"type": "none"},
        "named": {"type": "tool", "name": "get_forecast"},
    },
    "openai": {
        "auto": "auto",
        "required": "required",
        "none": "none",
        "named": {"type": "function", "function": {"name": "get_forecast"}},
    },
    "responses": {
        "auto": "auto",
        "required": "required",
        "none": "none",
        "named": {"type": "function", "name": "get_forecast"},
    },
    "gemini": {
        "auto": gt.FunctionCallingConfig(mode="AUTO"),
        "required": gt.FunctionCallingConfig(mode="ANY"),
        "none": gt.FunctionCallingConfig(mode="NONE"),
        "named": gt.FunctionCallingConfig(mode="ANY", allowed_function_names=["get_forecast"]),
    },
}

UPSTREAM_CHOICE = {
    "anthropic": CLIENT_CHOICE["anthropic"],
    "openai": CLIENT_CHOICE["openai"],
    "responses": CLIENT_CHOICE["responses"],
    "gemini": {
        "auto": {"functionCallingConfig": {"mode": "AUTO"}},
        "required": {"functionCallingConfig": {"mode": "ANY"}},
        "none": {"functionCallingConfig": {"mode": "NONE"}},
        "named": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_forecast"]}},
    },
}

GEMINI_DECLS = [
    gt.FunctionDeclaration(name="get_weather", description="Current weather in a city.", parameters_json_schema=WEATHER_SCHEMA),
    gt.FunctionDeclaration(name="get_forecast", description="Tomorrow's forecast for a city.", parameters_json_schema=FORECAST_SCHEMA),
]


def _send_tool_choice(sdk, clients, route, choice):
    c = CLIENT_CHOICE[sdk][choice]
    if sdk == "anthropic":
        clients["anthropic"].messages.create(
            model=route.model, max_tokens=32, tools=ANTHROPIC_TOOLS, tool_choice=c, messages=[user("hi")]
        )
    elif sdk == "openai":
        clients["openai"].chat.completions.create(
            model=route.model, tools=OPENAI_TOOLS, tool_choice=c, messages=[user("hi")]
        )
    elif sdk == "responses":
        clients["openai"].responses.create(model=route.model, tools=RESPONSES_TOOLS, tool_choice=c, input="hi")
    else:
        clients["gemini"].models.generate_content(
            model=route.model,
            contents="hi",
            config=gt.GenerateContentConfig(
                tools=[gt.Tool(function_declarations=GEMINI_DECLS)],
                tool_config=gt.ToolConfig(function_calling_config=c),
                automatic_function_calling=gt.AutomaticFunctionCallingConfig(disable=True),
            ),
        )


@pytest.mark.parametrize("choice", CHOICES)
@pytest.mark.parametrize("sdk,route", TRANSLATED)
def test_tool_choice_maps_to_upstream_dialect(stack, clients, sdk, route, choice):
    _send_tool_choice(sdk, clients, route, choice)
    body = upstream_body(last_upstream(stack))
    d = route.upstream_dialect
    got = body.get("toolConfig") if d == "gemini" else body.get("tool_choice")
    assert got == UPSTREAM_CHOICE[d][choice]


@pytest.mark.parametrize(
    "sdk,route",
    [p for p in TRANSLATED if p.values[0] != "gemini" and p.values[1].upstream_dialect != "gemini"],
)
def test_parallel_tool_calls_off_maps_to_upstream_dialect(stack, clients, sdk, route):
    if sdk == "anthropic":
        clients["anthropic"].messages.create(
            model=route.model,
            max_tokens=32,
            tools=ANTHROPIC_TOOLS,
            tool_choice={"type": "auto", "disable_parallel_tool_use": True},
            messages=[user("hi")],
        )
    elif sdk == "openai":
        clients["openai"].chat.completions.create(
            model=route.model, tools=OPENAI_TOOLS, parallel_tool_calls=False, messages=[user("hi")]
        )
    else:
        clients["openai"].responses.create(model=route.model, tools=RESPONSES_TOOLS, parallel_tool_calls=False, input="hi")
    body = upstream_body(last_upstream(stack))
    if route.upstream_dialect == "anthropic":
        assert body["tool_choice"].get("disable_parallel_tool_use") is True
    else:
        assert body["parallel_tool_calls"] is False


# --------------------------------------------------------------------------
# Structured output: the JSON schema the client asks for reaches the upstream
# in its own field.

CITY_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
    "additionalProperties": False,
}


def _send_json_schema(sdk, clients, route):
    if sdk == "anthropic":
        clients["anthropic"].messages.create(
            model=route.model,
            max_tokens=32,
            messages=[user("hi")],
            output_config={"format": {"type": "json_schema", "schema": CITY_SCHEMA}},
        )
    elif sdk == "openai":
        clients["openai"].chat.completions.create(
            model=route.model,
            messages=[user("hi")],
            response_format={"type": "json_schema", "json_schema": {"name": "city", "schema": CITY_SCHEMA}},
        )
    elif sdk == "responses":
        clients["openai"].responses.create(
            model=route.model,
            input="hi",
            text={"format": {"type": "json_schema", "name": "city", "schema": CITY_SCHEMA}},
        )
    else:
        clients["gemini"].models.generate_content(
            model=route.model,
            contents="hi",
            config=gt.GenerateContentConfig(response_mime_type="application/json", response_json_schema=CITY_SCHEMA),
        )


@pytest.mark.parametrize("sdk,route", TRANSLATED)
def test_json_schema_output_format_reaches_upstream_in_its_dialect(stack, clients, sdk, route):
    _send_json_schema(sdk, clients, route)
    body = upstream_body(last_upstream(stack))
    d = route.upstream_dialect
    if d == "anthropic":
        fmt = body["output_config"]["format"]
        assert fmt["type"] == "json_schema"
        schema = fmt["schema"]
    elif d == "openai":
        assert body["response_format"]["type"] == "json_schema"
        schema = body["response_format"]["json_schema"]["schema"]
    elif d == "responses":
        assert body["text"]["format"]["type"] == "json_schema"
        schema = body["text"]["format"]["schema"]
    else:
        gc = body["generationConfig"]
        assert gc["responseMimeType"] == "application/json"
        schema = gc.get("responseJsonSchema", gc.get("responseSchema"))
    assert schema == CITY_SCHEMA
