"""Embeddings, simulated: the same text always gets the same unit vector, in OpenAI's
`/v1/embeddings` and in Gemini's `:batchEmbedContents` alike. OpenAI's usage counts one token per
whitespace-separated word (a token array counts its length); Gemini's answer has no usage, as
Google's has none."""

from __future__ import annotations

import hashlib
import math
import random
from typing import Any

import orjson

from services.common.errors import InvalidRequest

DEFAULT_DIMENSIONS = 8
MAX_DIMENSIONS = 4096
GEMINI_MAX_BATCH = 100  # Google's batchEmbedContents refuses more


def parse_request(body: dict[str, Any]) -> list[str | list[int]]:
    """The `input` as a list: one string, strings, one token array, or token arrays."""
    value = body.get("input")
    if isinstance(value, str) or (isinstance(value, list) and value and all(isinstance(t, int) for t in value)):
        return [value]
    if isinstance(value, list) and value and all(
            isinstance(v, str) or (isinstance(v, list) and all(isinstance(t, int) for t in v)) for v in value):
        return list(value)
    raise InvalidRequest("input must be a string, a list of strings or a list of token arrays", field="input")


def tokens(item: str | list[int]) -> int:
    return len(item.split()) if isinstance(item, str) else len(item)


def vector(item: str | list[int], dimensions: int) -> list[float]:
    seed = hashlib.blake2b(orjson.dumps(item), digest_size=8).digest()
    rng = random.Random(int.from_bytes(seed, "big"))
    raw = [rng.uniform(-1.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [round(x / norm, 6) for x in raw]


def _dimensions(value: Any) -> int:
    return value if isinstance(value, int) and 0 < value <= MAX_DIMENSIONS else DEFAULT_DIMENSIONS


def answer(model: str, inputs: list[str | list[int]], dimensions: Any = None) -> bytes:
    dims = _dimensions(dimensions)
    used = sum(tokens(item) for item in inputs)
    return orjson.dumps({
        "object": "list", "model": model,
        "data": [{"object": "embedding", "index": i, "embedding": vector(item, dims)} for i, item in enumerate(inputs)],
        "usage": {"prompt_tokens": used, "total_tokens": used},
    })


def gemini_answer(model: str, body: dict[str, Any]) -> bytes:
    """A `BatchEmbedContentsResponse` for a `BatchEmbedContentsRequest` to `models/{model}`: a vector
    per request, of its `outputDimensionality`, for the text of its parts (joined by spaces)."""
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        raise InvalidRequest("* BatchEmbedContentsRequest.requests: requests is not specified", field="requests")
    if len(requests) > GEMINI_MAX_BATCH:
        raise InvalidRequest("* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch",
                             field="requests")
    values = []
    for i, request in enumerate(requests):
        where = f"requests[{i}]"
        if not isinstance(request, dict) or request.get("model") != "models/" + model:
            raise InvalidRequest(f"* BatchEmbedContentsRequest.{where}.model: must be models/{model}, the model of "
                                 "the URL", field=where + ".model")
        content = request.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        texts = [p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)] \
            if isinstance(parts, list) else []
        if not texts:
            raise InvalidRequest(f"* BatchEmbedContentsRequest.{where}.content: content has no text parts",
                                 field=where + ".content")
        size = request.get("outputDimensionality")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= MAX_DIMENSIONS):
            raise InvalidRequest(f"* BatchEmbedContentsRequest.{where}.outputDimensionality: must be 1 to "
                                 f"{MAX_DIMENSIONS}", field=where + ".outputDimensionality")
        values.append(vector(" ".join(texts), _dimensions(size)))
    return orjson.dumps({"embeddings": [{"values": v} for v in values]})
