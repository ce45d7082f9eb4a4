"""What a receipt says about the prompt, never the prompt: hashes and sizes, for the ledger's
recommendations (docs/analytics.md).

- `prompt_hash`: SHA-256 of the tenant and the request's answer-changing fields (the fields the
  response cache keys on: model, messages, parameters, tools; services/gateway/cache/keys.py), as
  JSON with sorted keys, cut to 32 hex digits. Equal hashes are repeated identical requests of one
  tenant. Salted with the tenant and a kind of its own, it is not any cache key. Unlike the cache's
  key it skips the cache's normalisation (`1.0` = `1`, one text part = a string): it is computed on
  every chat request, and one orjson call costs a fraction of that walk.
- `system_prompt_hash`, `system_prompt_tokens`: the same for the system (and developer) messages
  alone, and their typical token count (about 4 bytes a token): a large system prompt sent on every
  call is a prompt-cache opportunity.
- `max_tokens`: the output cap the caller asked for (`max_completion_tokens` or `max_tokens`).
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from services.common.selection.estimate import requested_max_output, typical_input_tokens
from services.gateway.cache.keys import NOT_IN_KEY

HASH_DIGITS = 32
SYSTEM_ROLES = ("system", "developer")


def prompt_fields(tenant: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The receipt's prompt fields of a chat request (none for a payload without messages)."""
    messages = payload.get("messages")
    if not isinstance(messages, list):
        return {}
    # most requests carry none of the fields left out: then the payload is hashed as it is
    fields = payload if NOT_IN_KEY.isdisjoint(payload) else {k: v for k, v in payload.items() if k not in NOT_IN_KEY}
    out: dict[str, Any] = {"prompt_hash": _hash(tenant, b"receipt-prompt", fields)}
    system = [m for m in messages if isinstance(m, dict) and m.get("role") in SYSTEM_ROLES]
    if system:
        out["system_prompt_hash"] = _hash(tenant, b"receipt-system", system)
        out["system_prompt_tokens"] = typical_input_tokens({"messages": system})
    try:
        asked = requested_max_output(payload)
    except (TypeError, ValueError):
        asked = None
    if asked is not None and asked > 0:
        out["max_tokens"] = asked
    return out


def _hash(tenant: str, kind: bytes, value: Any) -> str:
    body = orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.sha256(kind + b"\0" + tenant.encode() + b"\0" + body).hexdigest()[:HASH_DIGITS]
