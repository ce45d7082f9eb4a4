"""An Anthropic Messages request (`POST /v1/messages`) as the OpenAI chat request the pipeline
routes: `system` becomes a system message, content blocks become parts (images as data or plain
URLs), `tool_use` blocks become tool calls and `tool_result` blocks tool messages, tools and
tool_choice map across, `stop_sequences` becomes `stop`."""

from __future__ import annotations

from typing import Any

import orjson

from services.common.errors import InvalidRequest


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text")


def _image(block: dict[str, Any]) -> dict[str, Any] | None:
    source = block.get("source") or {}
    if source.get("type") == "base64":
        url = f"data:{source.get('media_type') or 'image/png'};base64,{source.get('data') or ''}"
    elif source.get("type") == "url" and source.get("url"):
        url = source["url"]
    else:
        return None
    return {"type": "image_url", "image_url": {"url": url}}


def _user(content: Any) -> list[dict[str, Any]]:
    """One user turn: its tool results first (as tool messages), then the rest as one message."""
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    out: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for block in content:
        kind = block.get("type")
        if kind == "tool_result":
            result = _text(block.get("content")) or ("error" if block.get("is_error") else "")
            out.append({"role": "tool", "tool_call_id": str(block.get("tool_use_id") or ""), "content": result})
        elif kind == "text":
            parts.append({"type": "text", "text": block.get("text", "")})
        elif kind == "image" and (image := _image(block)):
            parts.append(image)
    if parts:
        out.append({"role": "user", "content": parts})
    return out


def _assistant(content: Any) -> dict[str, Any]:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    calls = [{"id": str(b.get("id") or ""), "type": "function",
              "function": {"name": str(b.get("name") or ""), "arguments": orjson.dumps(b.get("input") or {}).decode()}}
             for b in content if b.get("type") == "tool_use"]
    message: dict[str, Any] = {"role": "assistant", "content": _text(content) or None}
    if calls:
        message["tool_calls"] = calls
    return message


def _tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for tool in tools:
        if "input_schema" not in tool:
            raise InvalidRequest(f"tool {tool.get('name')!r} is a server tool ({tool.get('type')}); only client tools "
                                 "with an input_schema can be routed through the gateway", field="tools")
        function: dict[str, Any] = {"name": tool["name"], "parameters": tool["input_schema"]}
        if tool.get("description"):
            function["description"] = tool["description"]
        out.append({"type": "function", "function": function})
    return out


def _tool_choice(choice: dict[str, Any], payload: dict[str, Any]) -> None:
    kind = choice.get("type")
    if kind == "tool":
        payload["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
    elif kind in ("auto", "any", "none"):
        payload["tool_choice"] = {"auto": "auto", "any": "required", "none": "none"}[kind]
    if choice.get("disable_parallel_tool_use"):
        payload["parallel_tool_calls"] = False


def to_openai(body: dict[str, Any]) -> dict[str, Any]:
    """A validated Messages request (contracts/messages_request) as an OpenAI chat request."""
    messages: list[dict[str, Any]] = []
    system = _text(body.get("system"))
    if system:
        messages.append({"role": "system", "content": system})
    for message in body["messages"]:
        if message["role"] == "user":
            messages.extend(_user(message["content"]))
        else:
            messages.append(_assistant(message["content"]))
    payload: dict[str, Any] = {"model": body["model"], "messages": messages, "max_tokens": body["max_tokens"]}
    for key in ("temperature", "top_p"):
        if key in body:
            payload[key] = body[key]
    if body.get("stop_sequences"):
        payload["stop"] = body["stop_sequences"]
    user = (body.get("metadata") or {}).get("user_id")
    if isinstance(user, str):
        payload["user"] = user
    if body.get("tools"):
        payload["tools"] = _tools(body["tools"])
    if isinstance(body.get("tool_choice"), dict):
        _tool_choice(body["tool_choice"], payload)
    if body.get("stream"):
        payload["stream"] = True
        payload["stream_options"] = {"include_usage": True}  # the usage the Anthropic events carry
    return payload
