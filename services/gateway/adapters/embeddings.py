"""OpenAI's embeddings answer, for adapters whose provider answers in another shape, and what
only the gateway can add to an answer once the provider has given it.

An adapter reads the provider's answer without the request (`EmbeddingsAdapter.parse_embeddings`),
so what depends on the request is settled afterwards, on the OpenAI answer (`as_asked`): vectors
come as `encoding_format` asked (a format that only returns floats, such as Gemini's, gets them
encoded here when the client asked for base64, as the official SDKs do by default), and an answer
without usage gets the gateway's estimate, the same count its receipt has.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Sequence
from typing import Any


def float32_base64(vector: Sequence[float]) -> str:
    """A vector as OpenAI sends it for `encoding_format: "base64"`: little-endian float32, base64."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def embeddings_list(vectors: Sequence[Sequence[float]], model: str = "") -> dict[str, Any]:
    """OpenAI's `{"object": "list", "data": [...]}` for vectors in input order (no usage yet)."""
    return {"object": "list", "model": model,
            "data": [{"object": "embedding", "index": i, "embedding": vector} for i, vector in enumerate(vectors)]}


def as_asked(data: dict[str, Any], payload: dict[str, Any], *, model: str,
             input_tokens: int | None) -> dict[str, Any] | None:
    """The answer `data` as the client asked for it, or None when it already is: float vectors
    encoded when the request asked for base64, the model when the provider named none, and usage
    (`input_tokens`, the estimate; None leaves usage alone) when the provider reported none."""
    items = data.get("data")
    encode = payload.get("encoding_format") == "base64" and isinstance(items, list) and any(
        isinstance(item, dict) and isinstance(item.get("embedding"), list) for item in items)
    name = not data.get("model")
    usage = input_tokens is not None and not isinstance(data.get("usage"), dict)
    if not (encode or name or usage):
        return None
    out = dict(data)
    if encode:
        assert isinstance(items, list)
        out["data"] = [{**item, "embedding": float32_base64(item["embedding"])}
                       if isinstance(item, dict) and isinstance(item.get("embedding"), list) else item
                       for item in items]
    if name:
        out["model"] = model
    if usage:
        out["usage"] = {"prompt_tokens": input_tokens, "total_tokens": input_tokens}
    return out
