"""Reading the OpenAI chat requests clients send, for adapters of other wire formats: system
prompt, text of a message, data URLs, tool definitions, tool-call arguments, sampling limits."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

SYSTEM_ROLES = ("system", "developer")


def text_of(content: Any) -> str:
    """A message's text: its string content, or its text parts joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content
                       if isinstance(part, dict) and isinstance(part.get("text"), str))
    return ""


def split_system(messages: list[Any]) -> tuple[str, list[dict[str, Any]]]:
    """(the system and developer messages' text, the other messages in order)."""
    system = [text_of(m.get("content")) for m in messages if isinstance(m, dict) and m.get("role") in SYSTEM_ROLES]
    rest = [m for m in messages if isinstance(m, dict) and m.get("role") not in SYSTEM_ROLES]
    return "\n\n".join(t for t in system if t), rest


def image_url(part: dict[str, Any]) -> str | None:
    """The URL of an `image_url` content part (object or bare string form)."""
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    return url if isinstance(url, str) and url else None


def data_url(url: str) -> tuple[str, str] | None:
    """`data:<mime>;base64,<data>` -> (mime, data); None for any other URL."""
    if not url.startswith("data:"):
        return None
    head, sep, data = url[5:].partition(",")
    if not sep or not head.endswith(";base64"):
        return None
    return head[: -len(";base64")] or "application/octet-stream", data


def arguments(raw: Any) -> dict[str, Any]:
    """A tool call's `arguments` (a JSON string) as an object; {} when it is not one."""
    if isinstance(raw, dict):
        return raw
    try:
        value = orjson.loads(raw) if isinstance(raw, str | bytes) and raw else {}
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def tool_names(messages: list[dict[str, Any]]) -> dict[str, str]:
    """tool_call_id -> function name, from the assistant messages' tool calls."""
    names: dict[str, str] = {}
    for message in messages:
        for call in message.get("tool_calls") or []:
            if isinstance(call, dict) and isinstance(call.get("function"), dict):
                names[str(call.get("id"))] = str(call["function"].get("name") or "")
    return names


def functions(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The `function` objects of the request's tools (name, description?, parameters?)."""
    return [tool["function"] for tool in payload.get("tools") or []
            if isinstance(tool, dict) and tool.get("type", "function") == "function"
            and isinstance(tool.get("function"), dict) and tool["function"].get("name")]


def forced_function(choice: Any) -> str | None:
    """The function name of a `{"type": "function", "function": {"name": ...}}` tool_choice."""
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        name = choice["function"].get("name")
        return name if isinstance(name, str) and name else None
    return None


def max_output(payload: dict[str, Any]) -> int | None:
    value = payload.get("max_completion_tokens") or payload.get("max_tokens")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def stop_sequences(payload: dict[str, Any]) -> list[str]:
    stop = payload.get("stop")
    if isinstance(stop, str):
        return [stop]
    return [s for s in stop if isinstance(s, str)] if isinstance(stop, list) else []


def obj(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else {}: provider answers are read without trusting their shape."""
    return value if isinstance(value, dict) else {}


def merged_turns(turns: Iterable[tuple[str, list[dict[str, Any]]]], key: str) -> list[dict[str, Any]]:
    """(role, parts) turns in order as `{"role", key: parts}`; empty turns are dropped and
    consecutive turns of one role (e.g. several tool results) become one."""
    out: list[dict[str, Any]] = []
    for role, parts in turns:
        if not parts:
            continue
        if out and out[-1]["role"] == role:
            out[-1][key].extend(parts)
        else:
            out.append({"role": role, key: parts})
    return out
