"""What a selection is asked: requirements and routing hints, the strategy, and the token
estimates (taken from the request's payload when one is given)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any

from services.common.errors import InvalidRequest
from services.common.money import MoneyError, to_decimal
from services.common.registry.provider import normalise_features
from services.common.selection.estimate import (
    DEFAULT_INPUT_TOKENS,
    DEFAULT_OUTPUT_TOKENS,
    requested_max_output,
    typical_input_tokens,
)

STRATEGIES = ("cost", "latency", "balanced", "weighted", "capability", "round_robin", "least_busy",
              "failover", "ab", "region", "smart")
OPTIMIZATIONS = STRATEGIES  # the older name, kept for the gateway's header check
# other spellings of the strategies, as older routers and their docs name them: any case, `-` or
# a space for `_` (`round-robin`, `Least-Busy`), and these names
STRATEGY_ALIASES = {"cost_based": "cost", "lowest_cost": "cost", "latency_based": "latency",
                    "lowest_latency": "latency", "roundrobin": "round_robin", "leastbusy": "least_busy",
                    "region_based": "region", "ab_test": "ab"}
STRATEGY_SPELLINGS = ("round-robin", "least-busy", *(a.replace("_", "-") for a in STRATEGY_ALIASES if "_" in a),
                      *(a for a in STRATEGY_ALIASES if "_" not in a))  # as the contracts list them


def strategy_name(value: str) -> str:
    """The strategy `value` names (`round-robin` is `round_robin`), or `value` itself when it names
    none (for the caller's error message)."""
    if value in STRATEGIES:
        return value
    key = value.strip().lower().replace("-", "_").replace(" ", "_")
    key = STRATEGY_ALIASES.get(key, key)
    return key if key in STRATEGIES else value


def strategy_or_none(value: str | None) -> str | None:
    return strategy_name(value) if value else value


@dataclass(frozen=True, slots=True)
class Weights:
    """How much cost and latency count in the weighted (balanced) strategy; they sum to 1."""

    cost: float = 0.5
    latency: float = 0.5

    @classmethod
    def of(cls, data: Mapping[str, Any] | None) -> Weights | None:
        if not data:
            return None
        cost, latency = float(data.get("cost", 0)), float(data.get("latency", 0))
        total = cost + latency
        return cls(cost / total, latency / total) if total > 0 else None

    def to_json(self) -> dict[str, float]:
        return {"cost": self.cost, "latency": self.latency}


@dataclass(frozen=True, slots=True)
class Requirements:
    """What the request needs (model or alias, context, features, a pinned provider) and the
    routing hints that travel with it (caller region, weights, experiment, who is asking, limits)."""

    model: str | None = None
    context_window: int = 0
    features: frozenset[str] = frozenset()
    provider: str | None = None
    region: str | None = None
    weights: Weights | None = None
    experiment: str | None = None
    key: str | None = None
    team: str | None = None
    tags: frozenset[str] = frozenset()
    max_cost_usd: Decimal | None = None
    max_latency_ms: float | None = None

    def asked_by(self, key: str | None, team: str | None) -> Requirements:
        """These requirements with who is asking (a copy; `dataclasses.replace` is ten times slower
        and this runs on every request)."""
        if key == self.key and team == self.team:
            return self
        out = object.__new__(Requirements)
        for name in _REQUIREMENT_FIELDS:
            object.__setattr__(out, name, getattr(self, name))
        object.__setattr__(out, "key", key)
        object.__setattr__(out, "team", team)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Requirements:
        data = data or {}
        max_cost = data.get("max_cost_usd")
        max_latency = data.get("max_latency_ms")
        return cls(model=data.get("model"), context_window=int(data.get("context_window") or 0),
                   features=normalise_features(data.get("features") or ()),
                   provider=data.get("provider"), region=data.get("region"),
                   weights=Weights.of(data.get("weights")), experiment=data.get("experiment"),
                   key=data.get("key"), team=data.get("team"), tags=frozenset(data.get("tags") or ()),
                   max_cost_usd=None if max_cost is None else _limit_usd(max_cost),
                   max_latency_ms=None if max_latency is None else float(max_latency))


_REQUIREMENT_FIELDS = tuple(f.name for f in fields(Requirements))


def _limit_usd(value: Any) -> Decimal:
    """The caller's cost limit; one no amount of money can be (10^12 or more) is a 400 naming it."""
    try:
        return to_decimal(value, field="requirements.max_cost_usd")
    except MoneyError as exc:
        raise InvalidRequest(str(exc), field="requirements.max_cost_usd") from None


@dataclass(frozen=True, slots=True)
class SelectionRequest:
    requirements: Requirements = field(default_factory=Requirements)
    optimization: str | None = "cost"  # the strategy asked; None: the route's or the default
    input_tokens: int = DEFAULT_INPUT_TOKENS
    output_tokens: int = DEFAULT_OUTPUT_TOKENS
    exclude: frozenset[str] = frozenset()
    payload: Mapping[str, Any] | None = None  # the chat request: features and complexity come from it

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SelectionRequest:
        """From a validated selection_request.schema.json body (`strategy` is `optimization`'s
        other name); token estimates default to the payload's, then to fixed defaults."""
        payload = data.get("payload")
        default_in = typical_input_tokens(payload) if payload else DEFAULT_INPUT_TOKENS
        default_out = (requested_max_output(payload) if payload else None) or DEFAULT_OUTPUT_TOKENS
        return cls(
            requirements=Requirements.from_json(data.get("requirements")),
            optimization=strategy_or_none(data.get("optimization") or data.get("strategy")),
            input_tokens=int(data.get("estimated_input_tokens", default_in)),
            output_tokens=int(data.get("max_output_tokens", default_out)),
            exclude=frozenset(data.get("exclude") or ()),
            payload=payload,
        )
