"""A provider: endpoint, wire format, model, capabilities, exact prices and SLOs.

Built from a registration body (router) or a registry snapshot (gateway); serialised the same
way for both (contracts/provider.schema.json). Prompt-cache prices are optional: without them,
cache reads and writes are charged at the input price, and 1-hour writes at the write price. The
API key is only ever a reference: the name of an environment variable the gateway reads, one the
operator allowed (services/common/registry/key_env.py; the router refuses any other at registration).
`timeouts` override the gateway's upstream timeouts for this provider; `health` is what the
router's health checks last concluded.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from services.common.clock import utc_iso
from services.common.errors import InvalidRequest
from services.common.money import (
    MoneyError,
    input_cost,
    per_mtok_to_per_token,
    per_token_to_per_mtok,
    plain,
    to_decimal,
)

FEATURE_ALIASES = {"tools": "function_calling", "json": "json_mode"}
# What a provider may declare at registration (docs/providers.md); `streaming` is offered unless the
# provider is tagged `no-streaming` (services/common/selection/features.py).
KNOWN_FEATURES = ("embeddings", "function_calling", "json_mode", "streaming", "vision")
HEALTH_STATES = ("unknown", "healthy", "unhealthy")  # unknown: not checked yet (selectable)


def normalise_features(features: list[str] | tuple[str, ...] | frozenset[str]) -> frozenset[str]:
    return frozenset(FEATURE_ALIASES.get(f, f) for f in features)


def checked_features(features: list[str]) -> frozenset[str]:
    """A registration's features, each a known name or alias; else a 400 on `features.N`."""
    for i, name in enumerate(features):
        if name not in KNOWN_FEATURES and name not in FEATURE_ALIASES:
            near = difflib.get_close_matches(name, [*KNOWN_FEATURES, *FEATURE_ALIASES], n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise InvalidRequest(f"unknown feature {name!r}{hint}; known features: "
                                 f"{', '.join(KNOWN_FEATURES)} (aliases: tools, json)", field=f"features.{i}")
    return normalise_features(features)


@dataclass(frozen=True, slots=True)
class Health:
    status: str = "unknown"
    reason: str | None = None  # why it is unhealthy (the last failed probe or outcome)
    since: str = ""  # when the status last changed

    @property
    def unhealthy(self) -> bool:
        return self.status == "unhealthy"

    def exclusion(self) -> str | None:
        """Why selection leaves the provider out, or None when its health lets it in."""
        return f"unhealthy ({self.reason or 'router health checks'})" if self.unhealthy else None

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.reason, "since": self.since}

    @classmethod
    def from_json(cls, data: Any) -> Health:
        if not isinstance(data, dict) or data.get("status") not in HEALTH_STATES:
            return cls()
        return cls(data["status"], data.get("reason"), data.get("since") or "")


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    model: str
    context_window: int
    endpoint: str
    input_per_token: Decimal
    output_per_token: Decimal
    api_format: str = "openai"
    api_key_env: str | None = None
    api_version: str | None = None  # Azure OpenAI's `api-version`; None: the adapter's default
    max_output_tokens: int | None = None
    features: frozenset[str] = frozenset()
    slo: dict[str, float] = field(default_factory=dict)
    region: str | None = None
    tags: tuple[str, ...] = ()
    priority: int = 100
    active: bool = True
    registered_at: str = ""
    updated_at: str = ""
    timeouts: dict[str, float] = field(default_factory=dict)  # connect_s, first_byte_s, idle_s, total_s
    health_url: str | None = None  # probed by the router's health checks instead of the models list
    health: Health = Health()
    cache_read_per_token: Decimal | None = None  # prompt-cache reads; None: the input price
    cache_write_per_token: Decimal | None = None  # prompt-cache writes; None: the input price
    cache_write_1h_per_token: Decimal | None = None  # 1-hour prompt-cache writes; None: the write price
    # where the prices came from: "registration", "catalog:<version>" or "registration+catalog:<version>"
    # (services/common/pricing/registration.py), and the catalog row, e.g. "openai/gpt-4o"
    priced_by: str = "registration"
    catalog_model: str | None = None

    # the per-Mtok prices, worked out once (every receipt and every decision's reason shows them)
    input_per_mtok: Decimal = field(init=False, repr=False, compare=False)
    output_per_mtok: Decimal = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_per_mtok", per_token_to_per_mtok(self.input_per_token))
        object.__setattr__(self, "output_per_mtok", per_token_to_per_mtok(self.output_per_token))

    @property
    def cache_read_per_mtok(self) -> Decimal | None:
        return None if self.cache_read_per_token is None else per_token_to_per_mtok(self.cache_read_per_token)

    @property
    def cache_write_per_mtok(self) -> Decimal | None:
        return None if self.cache_write_per_token is None else per_token_to_per_mtok(self.cache_write_per_token)

    @property
    def cache_write_1h_per_mtok(self) -> Decimal | None:
        return None if self.cache_write_1h_per_token is None else per_token_to_per_mtok(self.cache_write_1h_per_token)

    @property
    def dearest_input_per_token(self) -> Decimal:
        """The most one input token can be billed at (a cache write, 5-minute or 1-hour, may cost
        more than input)."""
        return max(p for p in (self.input_per_token, self.cache_read_per_token, self.cache_write_per_token,
                               self.cache_write_1h_per_token) if p is not None)

    def input_cost(self, input_tokens: int, cache_read_tokens: int = 0, cache_creation_tokens: int = 0,
                   cache_creation_1h_tokens: int = 0) -> Decimal:
        """The input tokens' cost at these prices, cache reads and writes at theirs, the 1-hour
        writes (a part of the writes) at the 1-hour write price (money.input_cost)."""
        return input_cost(input_tokens, self.input_per_token,
                          cache_read_tokens=cache_read_tokens, cache_read_price=self.cache_read_per_token,
                          cache_creation_tokens=cache_creation_tokens, cache_write_price=self.cache_write_per_token,
                          cache_creation_1h_tokens=cache_creation_1h_tokens,
                          cache_write_1h_price=self.cache_write_1h_per_token)

    @property
    def slo_latency_p95_ms(self) -> float | None:
        value = self.slo.get("latency_p95_ms")
        return float(value) if value is not None else None

    @property
    def slo_availability(self) -> float | None:
        """The declared share of requests answered (0..1): the success rate expected until observed."""
        value = self.slo.get("availability")
        return float(value) if value is not None else None

    @property
    def slo_throughput_tps(self) -> float | None:
        """The declared tokens a second the provider sustains: its capacity, for least-busy routing."""
        value = self.slo.get("throughput_tps")
        return float(value) if value is not None else None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.model,
            "context_window": self.context_window,
            "max_output_tokens": self.max_output_tokens,
            "endpoint": self.endpoint,
            "api_format": self.api_format,
            "api_key_env": self.api_key_env,
            "api_version": self.api_version,
            "input_per_mtok": self.input_per_mtok,
            "output_per_mtok": self.output_per_mtok,
            "cost_per_input_token": plain(self.input_per_token),
            "cost_per_output_token": plain(self.output_per_token),
            "cache_read_per_mtok": self.cache_read_per_mtok,
            "cache_write_per_mtok": self.cache_write_per_mtok,
            "cost_per_cache_read_input_token": _plain_or_none(self.cache_read_per_token),
            "cost_per_cache_creation_input_token": _plain_or_none(self.cache_write_per_token),
            "cache_write_1h_per_mtok": self.cache_write_1h_per_mtok,
            "cost_per_cache_creation_1h_input_token": _plain_or_none(self.cache_write_1h_per_token),
            "priced_by": self.priced_by,
            "catalog_model": self.catalog_model,
            "features": sorted(self.features),
            "slo": self.slo,
            "region": self.region,
            "tags": list(self.tags),
            "priority": self.priority,
            "active": self.active,
            "registered_at": self.registered_at,
            "updated_at": self.updated_at,
            "timeouts": self.timeouts,
            "health_url": self.health_url,
            "health": self.health.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Provider:
        """From the router's own serialisation (snapshot, store); money exact when parsed exactly."""
        return cls(
            name=data["name"],
            model=data["model"],
            context_window=int(data["context_window"]),
            endpoint=data["endpoint"],
            input_per_token=to_decimal(data["cost_per_input_token"]),
            output_per_token=to_decimal(data["cost_per_output_token"]),
            api_format=data.get("api_format") or "openai",
            api_key_env=data.get("api_key_env"),
            api_version=data.get("api_version"),
            max_output_tokens=data.get("max_output_tokens"),
            features=normalise_features(data.get("features") or ()),
            slo=dict(data.get("slo") or {}),
            region=data.get("region"),
            tags=tuple(data.get("tags") or ()),
            priority=int(data.get("priority", 100)),
            active=bool(data.get("active", True)),
            registered_at=data.get("registered_at", ""),
            updated_at=data.get("updated_at", ""),
            timeouts={k: float(v) for k, v in (data.get("timeouts") or {}).items()},
            health_url=data.get("health_url"),
            health=Health.from_json(data.get("health")),
            cache_read_per_token=_decimal_or_none(data.get("cost_per_cache_read_input_token")),
            cache_write_per_token=_decimal_or_none(data.get("cost_per_cache_creation_input_token")),
            cache_write_1h_per_token=_decimal_or_none(data.get("cost_per_cache_creation_1h_input_token")),
            priced_by=data.get("priced_by") or "registration",
            catalog_model=data.get("catalog_model"),
        )

    def touched(self, now: datetime, *, active: bool | None = None) -> Provider:
        return replace(self, updated_at=utc_iso(now), active=self.active if active is None else active)


def _plain_or_none(price: Decimal | None) -> Decimal | None:
    return None if price is None else plain(price)


def _decimal_or_none(value: Any) -> Decimal | None:
    return None if value is None else to_decimal(value)


# The registration's prices in each form: input, output, cache read, cache write, 1-hour cache write
# (the last three optional).
PER_TOKEN_KEYS = ("cost_per_input_token", "cost_per_output_token",
                  "cost_per_cache_read_input_token", "cost_per_cache_creation_input_token",
                  "cost_per_cache_creation_1h_input_token")
PER_MTOK_KEYS = ("input_per_mtok", "output_per_mtok", "cache_read_per_mtok", "cache_write_per_mtok",
                 "cache_write_1h_per_mtok")


def _price(body: dict[str, Any], key: str) -> Decimal:
    try:
        return to_decimal(body[key], field=key)
    except MoneyError as exc:
        raise InvalidRequest(str(exc), field=key) from None


def _prices(body: dict[str, Any]) -> tuple[Decimal, Decimal, Decimal | None, Decimal | None, Decimal | None]:
    """Per-token input, output, cache read, cache write and 1-hour cache write prices (the cache
    ones None when absent).

    Exactly one pricing form: every price per token, or every price per million tokens; input
    and output are required, the cache prices optional.
    """
    per_token = [k for k in PER_TOKEN_KEYS if k in body]
    per_mtok = [k for k in PER_MTOK_KEYS if k in body]
    if per_token and per_mtok:
        odd = per_mtok[0] if any(k in body for k in PER_TOKEN_KEYS[:2]) else per_token[0]
        raise InvalidRequest("give prices either per token (cost_per_*_token) or per million "
                             "tokens (*_per_mtok), not both", field=odd)
    if not per_token and not per_mtok:
        raise InvalidRequest("prices are required: cost_per_input_token and cost_per_output_token, "
                             "or input_per_mtok and output_per_mtok", field="cost_per_input_token")
    keys = PER_TOKEN_KEYS if per_token else PER_MTOK_KEYS
    input_key, output_key = keys[:2]
    if input_key not in body and output_key not in body:
        raise InvalidRequest(f"{input_key} and {output_key} are required with the cache prices", field=input_key)
    if input_key not in body or output_key not in body:
        missing = output_key if output_key not in body else input_key
        raise InvalidRequest(f"{missing} is required with the other price", field=missing)

    def price(key: str) -> Decimal:
        return _price(body, key) if per_token else per_mtok_to_per_token(_price(body, key))

    def optional(key: str) -> Decimal | None:
        return price(key) if key in body else None
    return price(input_key), price(output_key), optional(keys[2]), optional(keys[3]), optional(keys[4])


def provider_from_registration(body: dict[str, Any], now: datetime,
                               previous: Provider | None = None) -> Provider:
    """A validated registration body (provider_registration.schema.json) -> Provider."""
    input_price, output_price, cache_read_price, cache_write_price, cache_write_1h_price = _prices(body)
    if body.get("max_output_tokens") and body["max_output_tokens"] > body["context_window"]:
        raise InvalidRequest("max_output_tokens cannot exceed context_window", field="max_output_tokens")
    stamp = utc_iso(now)
    return Provider(
        name=body["name"],
        model=body["model"],
        context_window=body["context_window"],
        endpoint=body["endpoint"].rstrip("/"),
        input_per_token=input_price,
        output_per_token=output_price,
        api_format=body.get("api_format", "openai"),
        api_key_env=body.get("api_key_env"),
        api_version=body.get("api_version"),
        max_output_tokens=body.get("max_output_tokens"),
        features=checked_features(body.get("features", [])),
        slo=_finite_numbers(body, "slo"),
        region=body.get("region"),
        tags=tuple(body.get("tags", ())),
        priority=body.get("priority", 100),
        active=True,
        registered_at=previous.registered_at if previous else stamp,
        updated_at=stamp,
        timeouts=_finite_numbers(body, "timeouts"),
        health_url=body.get("health_url"),
        health=_kept_health(body, previous),
        cache_read_per_token=cache_read_price,
        cache_write_per_token=cache_write_price,
        cache_write_1h_per_token=cache_write_1h_price,
    )


def _finite_numbers(body: dict[str, Any], section: str) -> dict[str, float]:
    """A registration's `slo` or `timeouts` as floats. The contract's bounds cannot refuse NaN (every
    comparison with it is false) and JSON parsing reads `NaN` and `Infinity`: such a figure would be
    stored as null, so it is a 400 naming the field."""
    out = {}
    for name, value in (body.get(section) or {}).items():
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise InvalidRequest(f"{section}.{name} must be a finite number, not {str(value)[:32]}",
                                 field=f"{section}.{name}")
        out[name] = number
    return out


def _kept_health(body: dict[str, Any], previous: Provider | None) -> Health:
    """A re-registration at the same address keeps what the health checks know; a new address
    starts unknown (selectable) until checked."""
    if previous is None or previous.endpoint != body["endpoint"].rstrip("/") \
            or previous.health_url != body.get("health_url"):
        return Health()
    return previous.health

