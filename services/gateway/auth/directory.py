"""The gateway's copy of the ledger's virtual keys, indexed by secret hash (a follower keeps it
fresh; a revocation reaches it within a long-poll round trip)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.common.clock import parse_utc, to_us


@dataclass(frozen=True, slots=True)
class KeyRecord:
    key_id: str
    user: str | None = None
    team: str | None = None
    org: str | None = None
    models: frozenset[str] | None = None  # None: any model
    limits: tuple[dict[str, Any], ...] = ()
    expires_us: int | None = None
    revoked: bool = False

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeyRecord:
        expires = data.get("expires_at")
        models = data.get("models")
        return cls(key_id=data["key_id"], user=data.get("user"), team=data.get("team"), org=data.get("org"),
                   models=None if models is None else frozenset(models),
                   limits=tuple(data.get("limits") or ()),
                   expires_us=None if expires is None else to_us(parse_utc(expires)),
                   revoked=bool(data.get("revoked")))


@dataclass(frozen=True, slots=True)
class KeyDirectory:
    by_hash: dict[str, KeyRecord] = field(default_factory=dict)

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> KeyDirectory:
        return cls({k["secret_hash"]: KeyRecord.from_json(k) for k in data.get("keys", [])})

    def __len__(self) -> int:
        return len(self.by_hash)
