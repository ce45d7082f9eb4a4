"""A cached answer, a hit, and what a hit writes on its receipt."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import orjson

ENTRY_OVERHEAD = 256  # bytes counted per entry beyond its body, prompt and vector


@dataclass(slots=True)
class Entry:
    key: str  # the exact key (tenant-scoped hash)
    tenant: str
    model: str
    body: bytes  # the chat.completion JSON as the client received it
    cost_usd: Decimal  # what the answer cost upstream: what each hit saves
    created_at: float  # epoch seconds
    expires_at: float
    provider: str = ""
    scope: str | None = None  # semantic scope (None: exact only)
    prompt: str | None = None
    vector: bytes | None = None  # float32 embedding of `prompt`
    hits: int = 0
    size: int = field(default=0)

    def __post_init__(self) -> None:
        if not self.size:
            self.size = (len(self.body) + len((self.prompt or "").encode()) + len(self.vector or b"")
                         + ENTRY_OVERHEAD)

    def expired(self, now: float) -> bool:
        return now >= self.expires_at

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "tenant": self.tenant, "model": self.model, "body": self.body.decode(),
                "cost_usd": str(self.cost_usd), "created_at": self.created_at, "expires_at": self.expires_at,
                "provider": self.provider, "scope": self.scope, "prompt": self.prompt}

    def dumps(self) -> bytes:
        return orjson.dumps(self.to_json())

    @classmethod
    def loads(cls, raw: bytes | str, vector: bytes | None = None) -> Entry:
        d = orjson.loads(raw)
        return cls(key=d["key"], tenant=d["tenant"], model=d["model"], body=d["body"].encode(),
                   cost_usd=Decimal(d["cost_usd"]), created_at=d["created_at"], expires_at=d["expires_at"],
                   provider=d.get("provider", ""), scope=d.get("scope"), prompt=d.get("prompt"), vector=vector)


@dataclass(frozen=True, slots=True)
class Hit:
    entry: Entry
    kind: Literal["exact", "semantic"]
    similarity: float  # 1.0 for an exact hit

    @property
    def body(self) -> bytes:
        return self.entry.body

    @property
    def saved_usd(self) -> Decimal:
        return self.entry.cost_usd

    def receipt_fields(self) -> dict[str, Any]:
        """Merge into the hit's receipt (whose cost is 0): what kind of hit and what it saved."""
        return {"cache": "hit", "cache_kind": self.kind, "cache_similarity": round(self.similarity, 4),
                "saved_usd": self.entry.cost_usd, "cache_provider": self.entry.provider}


@dataclass(slots=True)
class CacheStats:
    entries: int = 0
    bytes: int = 0
    hits_exact: int = 0
    hits_semantic: int = 0
    misses: int = 0
    stores: int = 0
    rejected_too_large: int = 0
    evicted: int = 0
    expired: int = 0
    store_errors: int = 0
    guard_rejections: dict[str, int] = field(default_factory=dict)  # semantic candidates refused, by reason

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}  # type: ignore[attr-defined]
