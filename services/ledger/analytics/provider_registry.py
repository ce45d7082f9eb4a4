"""The router's provider registry as the ledger's recommendations see it: each active provider's
model, capabilities (features, tags, context window, output cap) and prices, read over HTTP from
the router's `GET /providers` (contracts/provider.schema.json) at TOLLWAY_LEDGER_ROUTER_URL. No
address, or no router answering, is a `Registry` without offers and the reason why, so that the
recommendations fall back to comparing providers of one model name and say so."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from services.common import jsonio

TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Offer:
    """One registered provider: what it can do and what it charges (per million tokens)."""

    name: str
    model: str
    context_window: int
    max_output_tokens: int | None
    input_per_mtok: Decimal
    output_per_mtok: Decimal
    features: frozenset[str]
    tags: frozenset[str]
    active: bool = True  # a soft-deleted provider: known for what it served, never recommended

    @staticmethod
    def of(p: Mapping[str, Any]) -> Offer:
        cap = p.get("max_output_tokens")
        return Offer(str(p["name"]), str(p["model"]), int(p["context_window"]), None if cap is None else int(cap),
                     Decimal(str(p["input_per_mtok"])), Decimal(str(p["output_per_mtok"])),
                     frozenset(str(f) for f in p.get("features") or ()), frozenset(str(t) for t in p.get("tags") or ()),
                     bool(p.get("active", True)))

    def capabilities(self) -> dict[str, Any]:
        return {"model": self.model, "features": sorted(self.features), "context_window": self.context_window,
                "max_output_tokens": self.max_output_tokens, "tags": sorted(self.tags)}


@dataclass(frozen=True)
class Registry:
    """The offers read (None: none could be) and where from, or why not."""

    offers: dict[str, Offer] | None
    source: str | None = None
    reason: str | None = None

    def describe(self) -> dict[str, Any]:
        if self.offers is None:
            return {"source": None, "reason": self.reason}
        return {"source": self.source, "providers": sum(o.active for o in self.offers.values())}


NO_ROUTER = Registry(None, reason="the ledger has no router address (TOLLWAY_LEDGER_ROUTER_URL)")


def router_urls(setting: str) -> list[str]:
    return [u.strip().rstrip("/") for u in setting.split(",") if u.strip()]


def parse_offers(body: Any) -> dict[str, Offer]:
    """The providers of a `GET /providers` body, soft-deleted ones included (a row that cannot be
    read is left out)."""
    out = {}
    for p in body["providers"]:
        try:
            offer = Offer.of(p)
        except (KeyError, TypeError, ValueError, ArithmeticError):
            continue
        out[offer.name] = offer
    return out


async def read_registry(urls: Sequence[str], transport: httpx.AsyncBaseTransport | None = None) -> Registry:
    """The registry from the first router of `urls` that answers; `NO_ROUTER` without any."""
    if not urls:
        return NO_ROUTER
    failures = []
    async with httpx.AsyncClient(timeout=TIMEOUT_S, transport=transport) as client:
        for url in urls:
            try:
                resp = await client.get(f"{url}/providers", params={"include_inactive": "true"})
                resp.raise_for_status()
                return Registry(parse_offers(jsonio.loads_exact(resp.content)), source=url)
            except httpx.HTTPStatusError as exc:
                failures.append(f"{url} answered {exc.response.status_code}")
            except httpx.HTTPError as exc:
                failures.append(f"{url} unreachable ({type(exc).__name__})")
            except (ValueError, KeyError, TypeError):
                failures.append(f"{url} answered something other than a provider list")
    return Registry(None, reason="no router answered: " + "; ".join(failures))
