"""What the SDKs send, as the translated upstream receives it (read back from
the mock's request log): system prompt, turns, images, limits, stop sequences
and tool choice."""

from __future__ import annotations

import pytest

from sdk_helpers import (
    A_XLATE,
    ANTHROPIC_TOOLS,
    O_XLATE,
    OPENAI_TOOLS,
    last_upstream,
    upstream_body,
    user,
)

PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def _system_text(system) -> str:
    """Anthropic `system` may be a string or a list of text blocks."""
    if isinstance(system, str):
        return system
    return "".join(b["text"] for b in system if b.get("type") == "text")


def test_anthropic_sdk_request_becomes_equivalent_openai_chat_request(stack, anthropic_client):
    anthropic_client.messages.create(
        model=A_XLATE.model,
        max_tokens=77,
        system="Be brief.",
        stop_sequences=["END"],
        messages=[
            user("first"),
            {"role": "assistant", "content": "second"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "look"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}},
                ],
            },
        ],
    )
    body = upstream_body(last_upstream(stack))
    assert body["model"] == "gpt-4o"
    msgs = body["messages"]
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    assert msgs[0]["content"] in ("Be brief.", [{"type": "text", "text": "Be brief."}])
    parts = msgs[3]["content"]
    assert {"type": "text", "text": "look"} in parts
    images = [p for p in parts if p["type"] == "image_url"]
    assert len(images) == 1
    assert images[0]["image_url"]["url"] == f"data:image/png;base64,{PNG_B64}"
    assert body.get("max_completion_tokens", body.get("max_tokens")) == 77
    assert body["stop"] in (["END"], "END")


def test_openai_sdk_request_becomes_equivalent_anthropic_messages_request(stack, openai_client):
    openai_client.chat.completions.create(
        model=O_XLATE.model,
        max_completion_tokens=55,
        stop=["END"],
        messages=[
            {"role": "system", "content": "Be brief."},
            user("first"),
            {"role": "assistant", "content": "second"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "look"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
                ],
            },
        ],
    )
    body = upstream_body(last_upstream(stack))
    assert body["model"] == "claude-sonnet-4-5"
    assert _system_text(body["system"]) == "Be brief."
    msgs = body["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "user"]
    blocks = msgs[2]["content"]
    assert {"type": "text", "text": "look"} in blocks
    images = [b for b in blocks if b["type"] == "image"]
    # The conversation's last block carries the cache breakpoint the gateway adds.
    assert images == [
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64},
            "cache_control": {"type": "ephemeral"},
        }
    ]
    assert body["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert body["max_tokens"] == 55
    assert body["stop_sequences"] == ["END"]


def test_openai_sdk_request_without_max_tokens_gets_one_for_anthropic_upstream(stack, openai_client):
    # Anthropic's API rejects a request without max_tokens.
    openai_client.chat.completions.create(model=O_XLATE.model, messages=[user("hi")])
    body = upstream_body(last_upstream(stack))
    assert isinstance(body.get("max_tokens"), int) and body["max_tokens"] > 0


@pytest.mark.parametrize(
    "anthropic_choice,openai_choice,parallel",
    [
        pytest.param({"type": "auto"}, "auto", None, id="auto"),
        pytest.param({"type": "any"}, "required", None, id="any-to-required"),
        pytest.param({"type": "none"}, "none", None, id="none"),
        pytest.param(
            {"type": "tool", "name": "get_forecast"},
            {"type": "function", "function": {"name": "get_forecast"}},
            None,
            id="named-tool",
        ),
        pytest.param(
            {"type": "auto", "disable_parallel_tool_use": True}, "auto", False, id="no-parallel"
        ),
    ],
)
def test_anthropic_sdk_tool_choice_maps_to_openai_tool_choice(
    stack, anthropic_client, anthropic_choice, openai_choice, parallel
):
    anthropic_client.messages.create(
        model=A_XLATE.model,
        max_tokens=32,
        tools=ANTHROPIC_TOOLS,
        tool_choice=anthropic_choice,
        messages=[user("hi")],
    )
    body = upstream_body(last_upstream(stack))
    assert body["tool_choice"] == openai_choice
    assert body.get("parallel_tool_calls") == parallel


@pytest.mark.parametrize(
    "openai_choice,anthropic_choice",
    [
        pytest.param("auto", {"type": "auto"}, id="auto"),
        pytest.param("required", {"type": "any"}, id="required-to-any"),
        pytest.param("none", {"type": "none"}, id="none"),
        pytest.param(
            {"type": "function", "function": {"name": "get_forecast"}},
            {"type": "tool", "name": "get_forecast"},
            id="named-function",
        ),
    ],
)
def test_openai_sdk_tool_choice_maps_to_anthropic_tool_choice(
    stack, openai_client, openai_choice, anthropic_choice
):
    openai_client.chat.completions.create(
        model=O_XLATE.model, tools=OPENAI_TOOLS, tool_choice=openai_choice, messages=[user("hi")]
    )
    body = upstream_body(last_upstream(stack))
    assert body["tool_choice"] == anthropic_choice


def test_openai_sdk_parallel_tool_calls_false_disables_parallel_tool_use(stack, openai_client):
    openai_client.chat.completions.create(
        model=O_XLATE.model, tools=OPENAI_TOOLS, parallel_tool_calls=False, messages=[user("hi")]
    )
    body = upstream_body(last_upstream(stack))
    assert body["tool_choice"].get("disable_parallel_tool_use") is True
