"""Google Gemini wire format (`models/{model}:generateContent`, `:streamGenerateContent?alt=sse`,
`:batchEmbedContents`), behind the OpenAI chat and embeddings formats clients speak.

System messages become `systemInstruction`, assistant turns are role `model`, content parts become
`parts` (images as `inlineData` or `fileData`), tools become `functionDeclarations` (their JSON
Schema as given, `parametersJsonSchema`), tool calls `functionCall` and tool results
`functionResponse`; sampling settings go in `generationConfig`. Usage comes from
`usageMetadata`; a stream ends with the chunk that carries a `finishReason`.

Embeddings: each input text is one `EmbedContentRequest` of a `batchEmbedContents` call (OpenAI's
`dimensions` as `outputDimensionality`); the answer's vectors become OpenAI's list. Gemini reports
no tokens for embeddings, so their receipts carry the gateway's estimate (`usage_estimated`).

A tool call's `thoughtSignature` (which Gemini wants back with the call in the next turn) rides
in the OpenAI tool call id, after THOUGHT_SIGNATURE, since clients echo ids verbatim.
"""

from __future__ import annotations

import mimetypes
import os
from typing import Any
from urllib.parse import quote

import orjson

from services.common import jsonio
from services.common.registry.provider import Provider
from services.gateway.adapters import chunks
from services.gateway.adapters import messages as m
from services.gateway.adapters.base import ParsedResponse, StreamEvent, UpstreamRequest, Usage, sse_data
from services.gateway.adapters.embeddings import embeddings_list

THOUGHT_SIGNATURE = "__thought__"
FILTERED = ("SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
            "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION")
FINISH_REASONS = {"STOP": "stop", "MAX_TOKENS": "length", **dict.fromkeys(FILTERED, "content_filter")}
MAX_EMBED_BATCH = 100  # more and batchEmbedContents answers 400 "at most 100 requests can be in one batch"


def resource_name(model: str) -> str:
    return model if "/" in model else "models/" + model  # "tunedModels/x" stays as it is


def method_url(endpoint: str, model: str, method: str) -> str:
    base = endpoint.rstrip("/")
    if not base.endswith("/v1beta"):
        base += "/v1beta"
    return f"{base}/{quote(resource_name(model), safe='/')}:{method}"


def model_url(endpoint: str, model: str, *, stream: bool) -> str:
    return method_url(endpoint, model, "streamGenerateContent?alt=sse" if stream else "generateContent")


def _headers(api_key: str | None) -> dict[str, str]:
    headers = {"content-type": "application/json"}
    if api_key:
        headers["x-goog-api-key"] = api_key
    return headers


def finish_reason(reason: Any, *, called_tools: bool) -> str:
    if reason == "STOP" and called_tools:
        return "tool_calls"
    return FINISH_REASONS.get(reason, "stop") if isinstance(reason, str) else "stop"


def usage_from(metadata: Any) -> Usage | None:
    """Thinking tokens are billed as output; `promptTokenCount` already counts the cached ones."""
    meta = m.obj(metadata)
    if "promptTokenCount" not in meta and "candidatesTokenCount" not in meta:
        return None

    def count(key: str) -> int:
        value = meta.get(key)
        return value if isinstance(value, int) else 0
    return Usage(count("promptTokenCount") + count("toolUsePromptTokenCount"),
                 count("candidatesTokenCount") + count("thoughtsTokenCount"),
                 cache_read_input_tokens=count("cachedContentTokenCount"))


# -- request ----------------------------------------------------------------------------------
def _parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[dict[str, Any]] = []
    for part in map(m.obj, content if isinstance(content, list) else []):
        if part.get("type") == "text" and part.get("text"):
            parts.append({"text": part["text"]})
        elif part.get("type") == "image_url" and (url := m.image_url(part)):
            inline = m.data_url(url)
            if inline:
                parts.append({"inlineData": {"mimeType": inline[0], "data": inline[1]}})
            else:
                mime = mimetypes.guess_type(url.split("?")[0])[0] or "image/jpeg"
                parts.append({"fileData": {"mimeType": mime, "fileUri": url}})
    return parts


def _function_call(call: dict[str, Any]) -> dict[str, Any]:
    function = m.obj(call.get("function"))
    part: dict[str, Any] = {"functionCall": {"name": str(function.get("name") or ""),
                                             "args": m.arguments(function.get("arguments"))}}
    _, sep, signature = str(call.get("id") or "").partition(THOUGHT_SIGNATURE)
    if sep and signature:
        part["thoughtSignature"] = signature
    return part


def _function_response(content: Any) -> dict[str, Any]:
    """A tool result as the object Gemini wants: a JSON object result as is, else {"content": text}."""
    text = m.text_of(content)
    try:
        value = orjson.loads(text) if text else None
    except orjson.JSONDecodeError:
        value = None
    return value if isinstance(value, dict) else {"content": text}


def _turn(message: dict[str, Any], names: dict[str, str]) -> tuple[str, list[dict[str, Any]]]:
    role = message.get("role")
    if role == "tool":
        name = names.get(str(message.get("tool_call_id")), "")
        return "user", [{"functionResponse": {"name": name, "response": _function_response(message.get("content"))}}]
    parts = _parts(message.get("content"))
    if role == "assistant":
        parts += [_function_call(call) for call in map(m.obj, message.get("tool_calls") or [])
                  if isinstance(call.get("function"), dict)]
        return "model", parts
    return "user", parts


def _contents(conversation: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = m.tool_names(conversation)
    return m.merged_turns((_turn(message, names) for message in conversation), "parts")


def _generation_config(payload: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for ours, theirs in (("temperature", "temperature"), ("top_p", "topP"), ("seed", "seed"),
                         ("presence_penalty", "presencePenalty"), ("frequency_penalty", "frequencyPenalty")):
        if isinstance(payload.get(ours), int | float) and not isinstance(payload.get(ours), bool):
            config[theirs] = payload[ours]
    if limit := m.max_output(payload):
        config["maxOutputTokens"] = limit
    if stops := m.stop_sequences(payload):
        config["stopSequences"] = stops
    if isinstance(payload.get("n"), int) and payload["n"] > 1:
        config["candidateCount"] = payload["n"]
    response_format = m.obj(payload.get("response_format"))
    if response_format.get("type") in ("json_object", "json_schema"):
        config["responseMimeType"] = "application/json"
        schema = m.obj(response_format.get("json_schema")).get("schema")
        if isinstance(schema, dict):
            config["responseJsonSchema"] = schema
    return config


def _tool_config(choice: Any) -> dict[str, Any] | None:
    forced = m.forced_function(choice)
    if forced:
        return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [forced]}}
    modes = {"none": "NONE", "auto": "AUTO", "required": "ANY"}
    return {"functionCallingConfig": {"mode": modes[choice]}} if choice in modes else None


def request_body(payload: dict[str, Any]) -> dict[str, Any]:
    system, conversation = m.split_system(payload.get("messages") or [])
    body: dict[str, Any] = {"contents": _contents(conversation)}
    if system:
        body["systemInstruction"] = {"parts": [{"text": system}]}
    if config := _generation_config(payload):
        body["generationConfig"] = config
    if functions := m.functions(payload):
        declarations = []
        for function in functions:
            declaration = {"name": function["name"]}
            if function.get("description"):
                declaration["description"] = function["description"]
            if isinstance(function.get("parameters"), dict):
                declaration["parametersJsonSchema"] = function["parameters"]
            declarations.append(declaration)
        body["tools"] = [{"functionDeclarations": declarations}]
        if tool_config := _tool_config(payload.get("tool_choice")):
            body["toolConfig"] = tool_config
    return body


def embed_body(payload: dict[str, Any], model: str) -> dict[str, Any]:
    """A `BatchEmbedContentsRequest`: one request per input text. ValueError when the input cannot
    be carried: token ids (Gemini embeds text only) or more texts than one batch takes."""
    value = payload.get("input")
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise ValueError("api_format gemini embeds text only: input as token ids cannot be sent to it")
    if len(texts) > MAX_EMBED_BATCH:
        raise ValueError(f"api_format gemini embeds at most {MAX_EMBED_BATCH} inputs per request, not {len(texts)}")
    name = resource_name(model)  # each request names the model of the URL, as Gemini checks
    requests: list[dict[str, Any]] = [{"model": name, "content": {"parts": [{"text": text}]}} for text in texts]
    dimensions = payload.get("dimensions")
    if isinstance(dimensions, int) and not isinstance(dimensions, bool):
        for request in requests:
            request["outputDimensionality"] = dimensions
    return {"requests": requests}


def embeddings_answer(raw: bytes) -> ParsedResponse:
    """A `BatchEmbedContentsResponse` as OpenAI's embeddings list; it has no usage to read."""
    data = orjson.loads(raw)
    found = data.get("embeddings") if isinstance(data, dict) else None
    vectors: list[list[float]] = []
    for embedding in found if isinstance(found, list) else [None]:
        values = m.obj(embedding).get("values")
        if not isinstance(values, list):
            raise ValueError("upstream answer is not a batchEmbedContents answer")
        vectors.append(values)
    body = embeddings_list(vectors)
    return ParsedResponse(orjson.dumps(body), body, None)


# -- answers ------------------------------------------------------------------------------------
def _content(content: Any) -> tuple[str, list[dict[str, Any]]]:
    """(the text, the tool calls) of one candidate's content; thoughts are left out."""
    text, calls = "", []
    parts = m.obj(content).get("parts")
    for part in map(m.obj, parts if isinstance(parts, list) else []):
        if part.get("thought"):
            continue
        if isinstance(part.get("text"), str):
            text += part["text"]
        if isinstance(part.get("functionCall"), dict):
            call = part["functionCall"]
            call_id = str(call.get("id") or "call_" + os.urandom(12).hex())
            if isinstance(part.get("thoughtSignature"), str):
                call_id += THOUGHT_SIGNATURE + part["thoughtSignature"]
            calls.append(chunks.tool_call(call_id, str(call.get("name") or ""),
                                          orjson.dumps(call.get("args") or {}).decode()))
    return text, calls


def _candidates(data: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    found = data.get("candidates")
    return [(c["index"] if isinstance(c.get("index"), int) else i, c)
            for i, c in enumerate(map(m.obj, found if isinstance(found, list) else []))]


def _blocked(data: dict[str, Any]) -> bool:
    """The prompt itself was refused: no candidates, a `promptFeedback.blockReason`."""
    return not data.get("candidates") and bool(m.obj(data.get("promptFeedback")).get("blockReason"))


def completion(data: dict[str, Any]) -> tuple[dict[str, Any], Usage | None]:
    """A `GenerateContentResponse` as an OpenAI `chat.completion`, and its usage."""
    choices = []
    for index, candidate in _candidates(data):
        text, calls = _content(candidate.get("content"))
        reason = finish_reason(candidate.get("finishReason"), called_tools=bool(calls))
        choices.append(chunks.choice(index, text, calls, reason))
    if _blocked(data):
        choices.append(chunks.choice(0, "", [], "content_filter"))
    usage = usage_from(data.get("usageMetadata"))
    response_id = str(data.get("responseId") or chunks.new_id())
    return chunks.completion(response_id, str(data.get("modelVersion") or ""), choices, usage), usage


class GeminiStream:
    """One Gemini SSE stream (each event a whole `GenerateContentResponse`) as OpenAI chunks."""

    def __init__(self) -> None:
        self.out = chunks.ChunkWriter()
        self.usage: Usage | None = None
        self.tool_calls: dict[int, int] = {}  # candidate index -> its tool calls so far (every candidate seen)
        self.finished: dict[int, str] = {}  # candidate index -> OpenAI finish_reason

    def parse_event(self, lines: list[bytes]) -> list[StreamEvent]:
        try:
            data = m.obj(orjson.loads(sse_data(lines) or b"null"))
        except orjson.JSONDecodeError:
            return []
        if isinstance(data.get("error"), dict):
            err = data["error"]
            return [chunks.error_event(str(err.get("status") or "upstream_error"), str(err.get("message") or ""))]
        if not self.out.model:
            self.out.id = str(data.get("responseId") or self.out.id)
            self.out.model = str(data.get("modelVersion") or "")
        self.usage = usage_from(data.get("usageMetadata")) or self.usage
        events = []
        for index, candidate in _candidates(data):
            events.extend(self._candidate(index, candidate))
        if _blocked(data):
            self.finished[0] = "content_filter"
        if self.finished and set(self.tool_calls) <= set(self.finished):
            events.extend(self.out.closing(self.finished, self.usage))
        return events

    def _candidate(self, index: int, candidate: dict[str, Any]) -> list[StreamEvent]:
        text, calls = _content(candidate.get("content"))
        delta: dict[str, Any] = {}
        if index not in self.tool_calls:
            self.tool_calls[index] = 0
            delta["role"] = "assistant"
        if text:
            delta["content"] = text
        if calls:
            first = self.tool_calls[index]
            delta["tool_calls"] = [{"index": first + n, **call} for n, call in enumerate(calls)]
            self.tool_calls[index] += len(calls)
        if candidate.get("finishReason"):
            self.finished[index] = finish_reason(candidate["finishReason"], called_tools=self.tool_calls[index] > 0)
        generated = text + "".join(call["function"]["arguments"] for call in calls)  # the arguments are tokens too
        return [self.out.delta(delta, text=generated, index=index)] if delta else []


class GeminiAdapter(chunks.TranslatingAdapter):
    api_format = "gemini"

    def build_request(self, provider: Provider, payload: dict[str, Any], api_key: str | None,
                      *, stream: bool) -> UpstreamRequest:
        return UpstreamRequest(model_url(provider.endpoint, provider.model, stream=stream), _headers(api_key),
                               jsonio.dumps(request_body(payload)))

    def build_embeddings_request(self, provider: Provider, payload: dict[str, Any],
                                 api_key: str | None) -> UpstreamRequest:
        return UpstreamRequest(method_url(provider.endpoint, provider.model, "batchEmbedContents"),
                               _headers(api_key), jsonio.dumps(embed_body(payload, provider.model)))

    def parse_embeddings(self, raw: bytes) -> ParsedResponse:
        return embeddings_answer(raw)

    def completion(self, data: dict[str, Any]) -> tuple[dict[str, Any], Usage | None]:
        return completion(data)

    def stream_parser(self) -> GeminiStream:
        return GeminiStream()
