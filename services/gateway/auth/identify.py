"""Step 1 of a request: who is calling, from memory.

The client's key comes as `Authorization: Bearer <key>` (OpenAI SDKs) or `x-api-key` (Anthropic
SDKs). A known key that is revoked or expired is a 401 whatever the settings; an unknown key or
none is a 401 when TOLLWAY_REQUIRE_KEYS is set, and anonymous otherwise (SDKs always send some
key, so an unknown one cannot be refused by default). The admin key is accepted too, as an
identity with no tenant and no limits.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.common.errors import Forbidden, Unauthorized
from services.common.http.admin import is_admin
from services.common.virtual_keys import hash_secret, refuse_unusable
from services.gateway.auth.directory import KeyDirectory, KeyRecord


@dataclass(frozen=True, slots=True)
class Identity:
    key: KeyRecord | None  # None: the admin

    @property
    def key_id(self) -> str | None:
        return self.key.key_id if self.key else None

    def receipt_fields(self) -> dict[str, str]:
        if self.key is None:
            return {}
        fields = {"key_id": self.key.key_id, "user": self.key.user, "team": self.key.team, "org": self.key.org}
        return {k: v for k, v in fields.items() if v}


def identify(presented: str | None, keys: KeyDirectory, *, admin_key: str, require_keys: bool,
             now_us: int) -> Identity | None:
    """The caller's identity; None for an anonymous caller where that is allowed."""
    if presented is None:
        if require_keys:
            raise Unauthorized("this gateway needs a key: send Authorization: Bearer <virtual key>")
        return None
    record = keys.by_hash.get(hash_secret(presented))
    if record is None:
        if is_admin(presented, admin_key):
            return Identity(None)
        if require_keys:
            raise Unauthorized("unknown key")
        return None
    refuse_unusable(record.key_id, revoked=record.revoked, expires_us=record.expires_us, now_us=now_us)
    if record.problem:
        raise Forbidden(f"key {record.key_id} cannot be used: {record.problem}")
    return Identity(record)


def authorize_model(identity: Identity | None, model: str | None) -> None:
    """403 when the key may not ask for this model (its allow-list names models or aliases)."""
    if identity is None or identity.key is None or identity.key.models is None:
        return
    if model not in identity.key.models:
        allowed = ", ".join(sorted(identity.key.models)) or "none"
        raise Forbidden(f"key {identity.key.key_id} may not use model {model!r} (allowed: {allowed})",
                        field="model")
