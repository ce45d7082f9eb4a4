"""Cache keys: canonical JSON of the request fields that change the answer, hashed per tenant.

Every field of the request counts except the few that only change how the answer travels
(`stream`, `stream_options`) or who asked (`user`, `metadata`, `store`, `tollway`): an unknown
field is part of the key, so a new OpenAI parameter can never make two different requests share
an answer. Numbers are compared by value (`1` and `1.0` are one temperature), keys are sorted.

The semantic scope is the same hash without the last user message: a semantic hit needs the same
tenant, model, parameters, tools and earlier conversation, and only the last question may differ.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import orjson

from services.common.errors import InvalidRequest

NOT_IN_KEY = frozenset({"stream", "stream_options", "user", "metadata", "store", "tollway"})


def canonical(value: Any) -> Any:
    """The value with integral floats as ints and single text parts as plain strings."""
    if isinstance(value, dict):
        if set(value) == {"type", "text"} and value.get("type") == "text" and isinstance(value["text"], str):
            return value["text"]
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [canonical(v) for v in value]
        return items[0] if len(items) == 1 and isinstance(items[0], str) and _is_text_parts(value) else items
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidRequest("numbers must be finite")
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    return value


def _is_text_parts(value: list[Any] | tuple[Any, ...]) -> bool:
    return all(isinstance(v, dict) and v.get("type") == "text" for v in value)


def canonical_bytes(value: Any) -> bytes:
    return orjson.dumps(canonical(value), option=orjson.OPT_SORT_KEYS)


def digest(tenant: str, kind: str, fields: Any) -> str:
    h = hashlib.sha256()
    h.update(kind.encode() + b"\0" + tenant.encode() + b"\0")
    h.update(canonical_bytes(fields))
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class RequestKey:
    tenant: str
    model: str
    exact: str  # hash of every answer-changing field, with the tenant
    scope: str | None  # hash of the same without the last user message (None: no semantic match)
    prompt: str | None  # the last user message's text, what a semantic lookup compares


def answer_fields(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k not in NOT_IN_KEY}


def request_key(tenant: str, payload: dict[str, Any]) -> RequestKey:
    if not tenant:
        raise ValueError("a cache key needs a tenant")
    fields = answer_fields(payload)
    model = str(payload.get("model") or "")
    exact = digest(tenant, "exact", fields)
    prompt = last_user_text(payload.get("messages"))
    scope = None
    if prompt is not None:
        rest = dict(fields, messages=list(fields["messages"])[:-1])
        scope = digest(tenant, "scope", rest)
    return RequestKey(tenant, model, exact, scope, prompt)


def last_user_text(messages: Any) -> str | None:
    """The text of the last message when it is the user's and holds only text, else None."""
    if not isinstance(messages, list) or not messages:
        return None
    last = messages[-1]
    if not isinstance(last, dict) or last.get("role") != "user" or set(last) - {"role", "content"}:
        return None
    content = canonical(last.get("content"))
    return content if isinstance(content, str) and content.strip() else None
