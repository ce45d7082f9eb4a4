"""A virtual key as the ledger stores it, and the two ways it is shown: to people (no secret,
no hash) and to gateways (the hash, to authenticate from memory).

A stored key the ledger cannot read back whole (`problem` set; only its id, hash and revocation
are known) is refused everywhere: left out of listings, shown by id as unreadable, and published to
gateways as revoked, so its secret is refused rather than taken for an unknown key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.ledger.times import iso


@dataclass(frozen=True)
class VirtualKey:
    key_id: str
    secret_hash: str
    prefix: str
    created_us: int
    name: str | None = None
    user: str | None = None
    team: str | None = None
    org: str | None = None
    models: list[str] | None = None  # None: any model
    limits: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)  # its response-cache policy (key_request.schema.json)
    expires_us: int | None = None
    revoked_us: int | None = None
    problem: str | None = None  # why the stored row cannot be read back (which column, no value)

    def active(self, now_us: int) -> bool:
        return self.problem is None and self.revoked_us is None and (
            self.expires_us is None or now_us < self.expires_us)

    @property
    def tenant(self) -> tuple[str, str]:
        """Whose data this key may read: its organisation's, else only its own."""
        return ("org", self.org) if self.org else ("key", self.key_id)

    def public(self, now_us: int) -> dict[str, Any]:
        if self.problem is not None:
            return {"key_id": self.key_id, "active": False, "revoked_at": _iso(self.revoked_us),
                    "problem": f"stored in a form this ledger cannot read ({self.problem})"}
        return {"key_id": self.key_id, "prefix": self.prefix, "name": self.name, "user": self.user,
                "team": self.team, "org": self.org, "models": self.models, "limits": self.limits,
                "metadata": self.metadata, "cache": self.cache, "created_at": iso(self.created_us),
                "expires_at": _iso(self.expires_us), "revoked_at": _iso(self.revoked_us),
                "active": self.active(now_us)}

    def for_gateway(self) -> dict[str, Any]:
        if self.problem is not None:
            return {"key_id": self.key_id, "secret_hash": self.secret_hash, "models": [], "limits": [],
                    "expires_at": None, "revoked": True}
        return {"key_id": self.key_id, "secret_hash": self.secret_hash, "user": self.user,
                "team": self.team, "org": self.org, "models": self.models, "limits": self.limits,
                "cache": self.cache, "expires_at": _iso(self.expires_us), "revoked": self.revoked_us is not None}


def _iso(us: int | None) -> str | None:
    return None if us is None else iso(us)
