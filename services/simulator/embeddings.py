"""OpenAI embeddings, simulated: the same input always gets the same unit vector, and its usage
counts one token per whitespace-separated word (a token array counts its length)."""

from __future__ import annotations

import hashlib
import math
import random
from typing import Any

import orjson

from services.common.errors import InvalidRequest

DEFAULT_DIMENSIONS = 8
MAX_DIMENSIONS = 4096


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


def answer(model: str, inputs: list[str | list[int]], dimensions: Any = None) -> bytes:
    dims = dimensions if isinstance(dimensions, int) and 0 < dimensions <= MAX_DIMENSIONS else DEFAULT_DIMENSIONS
    used = sum(tokens(item) for item in inputs)
    return orjson.dumps({
        "object": "list", "model": model,
        "data": [{"object": "embedding", "index": i, "embedding": vector(item, dims)} for i, item in enumerate(inputs)],
        "usage": {"prompt_tokens": used, "total_tokens": used},
    })
