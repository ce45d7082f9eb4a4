"""Features a request needs, read from the request itself: image parts need `vision`, `tools`
need `function_calling`, a JSON `response_format` needs `json_mode`, `stream` needs `streaming`.

Every adapter streams, so a provider offers `streaming` unless it is tagged `no-streaming`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.common.registry.provider import Provider

IMAGE_PARTS = frozenset({"image_url", "input_image", "image"})
NO_STREAMING_TAG = "no-streaming"


def _has_image(messages: Any) -> bool:
    if not isinstance(messages, list):
        return False
    for msg in messages:
        content = msg.get("content") if isinstance(msg, dict) else None
        if isinstance(content, list) and any(isinstance(p, dict) and p.get("type") in IMAGE_PARTS
                                             for p in content):
            return True
    return False


def detect(payload: Mapping[str, Any] | None) -> frozenset[str]:
    if not payload:
        return frozenset()
    found = set()
    if _has_image(payload.get("messages")):
        found.add("vision")
    if payload.get("tools") or payload.get("functions"):
        found.add("function_calling")
    fmt = payload.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema"):
        found.add("json_mode")
    if payload.get("stream"):
        found.add("streaming")
    return frozenset(found)


def offered(provider: Provider) -> frozenset[str]:
    """What `provider` can do, `streaming` included unless it opted out."""
    if NO_STREAMING_TAG in provider.tags:
        return provider.features
    return provider.features | {"streaming"}
