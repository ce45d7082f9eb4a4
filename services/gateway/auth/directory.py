"""The gateway's copy of the ledger's virtual keys, indexed by secret hash (a follower keeps it
fresh; a revocation reaches it within a long-poll round trip)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import structlog

from services.common.clock import parse_utc, to_us
from services.gateway.cache.controls import KeyCachePolicy
from services.gateway.limits.gate import key_specs, parse_specs
from services.gateway.limits.resolve import LimitSet
from services.gateway.limits.spec import LimitSpec

log = structlog.get_logger("tollway.gateway.keys")


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
    specs: tuple[LimitSpec, ...] = ()  # its limits, ready for the rate gate
    problem: str | None = None  # why the key cannot be used as published (its limits do not parse)
    cache: KeyCachePolicy = KeyCachePolicy()  # what the response cache may do with its requests

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeyRecord:
        expires = data.get("expires_at")
        models = data.get("models")
        limits = tuple(data.get("limits") or ())
        specs: tuple[LimitSpec, ...] = ()
        problem = None
        try:
            specs = key_specs(limits)
        except ValueError as exc:
            problem = f"its rate limits cannot be enforced: {exc}"[:300]
        return cls(key_id=data["key_id"], user=data.get("user"), team=data.get("team"), org=data.get("org"),
                   models=None if models is None else frozenset(models), limits=limits,
                   expires_us=None if expires is None else to_us(parse_utc(expires)),
                   revoked=bool(data.get("revoked")), specs=specs, problem=problem,
                   cache=_cache_policy(data.get("cache")))


@dataclass(frozen=True, slots=True)
class KeyDirectory:
    by_hash: dict[str, KeyRecord] = field(default_factory=dict)
    limits: LimitSet = field(default_factory=lambda: LimitSet(()))  # set through the ledger's /limits

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> KeyDirectory:
        specs: list[LimitSpec] = []
        for raw in data.get("limits") or []:
            try:
                specs += parse_specs([raw], where=f"limit {raw.get('name')}")
            except ValueError as exc:  # one the ledger let through but this gateway cannot enforce
                log.error("rate_limit_unusable", error=str(exc)[:300])
        return cls({k["secret_hash"]: KeyRecord.from_json(k) for k in data.get("keys", [])}, LimitSet(specs))

    def __len__(self) -> int:
        return len(self.by_hash)


def _cache_policy(data: Any) -> KeyCachePolicy:
    if not isinstance(data, dict):
        return KeyCachePolicy()
    ttl = data.get("ttl_s")
    return KeyCachePolicy(enabled=bool(data.get("enabled", True)), semantic=data.get("semantic"),
                          ttl_s=float(ttl) if ttl is not None else None,
                          cache_sampled=bool(data.get("cache_sampled", False)))
