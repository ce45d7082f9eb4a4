"""Google Gemini wire format (`POST /v1beta/models/{model}:generateContent` and
`:streamGenerateContent?alt=sse`): request parsing, `GenerateContentResponse` bodies, SSE
chunks, errors and the model list. The model and whether to stream come from the URL. Function
calls too (whole, in one chunk, as Gemini sends them): a turn of function responses must come
right after a model turn of function calls, as Gemini checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from services.common.errors import InvalidRequest
from services.simulator.reply import Call, Reply

MEDIA_TYPE = "application/json"
STREAM_MEDIA_TYPE = "text/event-stream"
FINISH_REASONS = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP"}
STATUSES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
            409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL", 501: "NOT_IMPLEMENTED",
            503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


def _text(content: Any) -> str:
    """The text of a Content: its text parts, and function responses as JSON, joined."""
    parts = content.get("parts") if isinstance(content, dict) else None
    texts = []
    for part in parts if isinstance(parts, list) else []:
        if isinstance(part, dict) and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif isinstance(part, dict) and isinstance(part.get("functionResponse"), dict):
            texts.append(orjson.dumps(part["functionResponse"].get("response")).decode())
    return " ".join(texts)


def _has(content: dict[str, Any], kind: str) -> bool:
    return any(isinstance(part, dict) and kind in part for part in content["parts"])


def _tool_names(body: dict[str, Any]) -> tuple[str, ...]:
    tools = body.get("tools")
    declarations = [d for t in tools if isinstance(t, dict) for d in t.get("functionDeclarations") or []] \
        if isinstance(tools, list) else []
    return tuple(d["name"] for d in declarations if isinstance(d, dict) and isinstance(d.get("name"), str))


def parse_request(body: dict[str, Any]) -> Call:
    """A GenerateContentRequest as a format-neutral Call (model and stream are set from the URL)."""
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise InvalidRequest("* GenerateContentRequest.contents: contents is not specified", field="contents")
    for i, content in enumerate(contents):
        if not isinstance(content, dict) or not isinstance(content.get("parts"), list) or not content["parts"]:
            raise InvalidRequest(f"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty",
                                 field=f"contents[{i}].parts")
        if content.get("role", "user") not in ("user", "model"):
            raise InvalidRequest(f"Please use a valid role: user, model (contents[{i}])", field=f"contents[{i}].role")
        if _has(content, "functionResponse") and not (i and _has(contents[i - 1], "functionCall")):
            raise InvalidRequest("Please ensure that function response turn comes immediately after a function "
                                 "call turn.", field=f"contents[{i}]")
    texts = [_text(c) for c in contents]
    system = _text(body.get("systemInstruction"))
    last_user = next((t for c, t in zip(reversed(contents), reversed(texts), strict=True)
                      if c.get("role", "user") == "user"), texts[-1])
    config = body.get("generationConfig")
    max_tokens = config.get("maxOutputTokens") if isinstance(config, dict) else None
    if max_tokens is not None and (not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1):
        raise InvalidRequest("generationConfig.maxOutputTokens must be a positive integer",
                             field="generationConfig.maxOutputTokens")
    return Call(model="", texts=tuple(([system] if system else []) + texts), last_user_text=last_user,
                max_tokens=max_tokens, include_usage=True, tools=_tool_names(body),
                after_tool_result=_has(contents[-1], "functionResponse"))


def _usage(reply: Reply, output_tokens: int) -> dict[str, int]:
    """`promptTokenCount` counts every prompt token, the cached ones (`cachedContentTokenCount`)
    among them; Gemini reports no cache writes, so the tokens written (for 5 minutes or an hour)
    are plain prompt tokens.
    Zero counts are left out, as Google's JSON leaves them out."""
    usage = {"promptTokenCount": reply.input_tokens, "totalTokenCount": reply.input_tokens + output_tokens}
    if output_tokens:
        usage["candidatesTokenCount"] = output_tokens
    if reply.cache_read:
        usage["cachedContentTokenCount"] = reply.cache_read
    return usage


def _response(reply: Reply, text: str, output_tokens: int, finish: bool) -> dict[str, Any]:
    part = ({"functionCall": {"name": reply.tool, "args": orjson.loads(reply.arguments)}} if reply.tool
            else {"text": text})
    candidate: dict[str, Any] = {"content": {"parts": [part], "role": "model"}, "index": 0}
    if finish:
        candidate["finishReason"] = FINISH_REASONS[reply.finish_reason]
    return {"candidates": [candidate], "usageMetadata": _usage(reply, output_tokens),
            "modelVersion": reply.model, "responseId": reply.id}


def completion(reply: Reply) -> bytes:
    """The non-streaming answer, a `GenerateContentResponse`."""
    return orjson.dumps(_response(reply, reply.text, reply.completion_tokens, finish=True))


def stream_events(reply: Reply, include_usage: bool) -> Iterator[tuple[bytes, bool]]:
    """One SSE chunk per token (each a whole GenerateContentResponse with the usage so far); the
    last token's chunk carries the finishReason. Events end in CRLF pairs, as Google's do. A
    function call comes whole, in one chunk."""
    if reply.tool:
        yield b"data: " + orjson.dumps(_response(reply, "", reply.completion_tokens, finish=True)) + b"\r\n\r\n", True
        return
    pieces = reply.pieces or ("",)
    for n, piece in enumerate(pieces, start=1):
        last = n == len(pieces)
        response = _response(reply, piece, min(n, reply.completion_tokens), finish=last)
        yield b"data: " + orjson.dumps(response) + b"\r\n\r\n", bool(reply.pieces)


def error(status: int, message: str, *, param: str | None = None, code: str | None = None) -> bytes:
    kind = STATUSES.get(status, "INTERNAL" if status >= 500 else "FAILED_PRECONDITION")
    return orjson.dumps({"error": {"code": status, "message": message, "status": kind}})


def models(ids: list[str], created: int) -> bytes:
    return orjson.dumps({"models": [
        {"name": "models/" + model, "version": "001", "displayName": model,
         "supportedGenerationMethods": ["generateContent", "streamGenerateContent"]} for model in ids]})
