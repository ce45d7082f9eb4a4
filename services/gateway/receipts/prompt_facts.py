"""What a receipt says about the prompt, never the prompt: hashes and sizes, for the ledger's
recommendations (docs/analytics.md).

- `prompt_hash`: SHA-256 of the tenant and the request's answer-changing fields (what the response
  cache keys on: model, messages, parameters, tools; services/gateway/cache/keys.py), cut to 32 hex
  digits. Equal hashes are repeated identical requests of one tenant. Salted with the tenant and a
  kind of its own, it is not any cache key.
- `system_prompt_hash`, `system_prompt_tokens`: the same for the system (and developer) messages
  alone, and their typical token count (about 4 bytes a token): a large system prompt sent on every
  call is a prompt-cache opportunity.
- `max_tokens`: the output cap the caller asked for (`max_completion_tokens` or `max_tokens`).
"""

from __future__ import annotations

from typing import Any

from services.common.selection.estimate import requested_max_output, typical_input_tokens
from services.gateway.cache.keys import answer_fields, digest

HASH_DIGITS = 32
SYSTEM_ROLES = ("system", "developer")


def prompt_fields(tenant: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The receipt's prompt fields of a chat request (none for a payload without messages)."""
    messages = payload.get("messages")
    if not isinstance(messages, list):
        return {}
    out: dict[str, Any] = {"prompt_hash": digest(tenant, "receipt-prompt", answer_fields(payload))[:HASH_DIGITS]}
    system = [m for m in messages if isinstance(m, dict) and m.get("role") in SYSTEM_ROLES]
    if system:
        out["system_prompt_hash"] = digest(tenant, "receipt-system", system)[:HASH_DIGITS]
        out["system_prompt_tokens"] = typical_input_tokens({"messages": system})
    try:
        asked = requested_max_output(payload)
    except (TypeError, ValueError):
        asked = None
    if asked is not None and asked > 0:
        out["max_tokens"] = asked
    return out
