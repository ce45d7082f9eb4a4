"""Routing configuration: aliases, routes, rules, experiments and smart-routing tiers.

Declared in a YAML file the router loads at start and changed through its API
(contracts/routing_config.schema.json); it reaches the gateway inside the registry snapshot.
Bodies reaching `from_json` are valid against the contract; `check_entry` adds what a schema
cannot say (arm percentages add up to 100, arm names are unique), and `check_alias` that no alias
comes back to itself through other aliases.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from services.common.errors import InvalidRequest
from services.common.registry.provider import normalise_features
from services.common.selection.request import STRATEGIES, Weights, strategy_name

KINDS = ("aliases", "routes", "rules", "experiments")
TIERS = ("simple", "medium", "complex")
BASIS_POINTS = 10_000  # an arm's share of traffic, in hundredths of a percent
ARM_STRATEGIES = tuple(s for s in STRATEGIES if s != "ab")  # an arm's own strategy: any but the split itself


@dataclass(frozen=True, slots=True)
class Route:
    """Requests for `model` (a model or an alias) use this strategy and these weights unless the
    request names its own."""

    name: str
    model: str
    strategy: str | None = None
    weights: Weights | None = None
    smart_mode: str | None = None  # how `smart` ranks (smart.SMART_MODES); implies strategy smart


@dataclass(frozen=True, slots=True)
class TokenRange:
    """From `low` to `high` tokens, both inclusive; None: no bound on that side."""

    low: int | None = None
    high: int | None = None

    def holds(self, tokens: int) -> bool:
        return (self.low is None or tokens >= self.low) and (self.high is None or tokens <= self.high)

    @classmethod
    def of(cls, data: Mapping[str, Any] | None) -> TokenRange | None:
        return None if not data else cls(data.get("min"), data.get("max"))


@dataclass(frozen=True, slots=True)
class Conditions:
    """A rule applies when every condition given holds (an empty set of conditions always does)."""

    models: frozenset[str] = frozenset()
    keys: frozenset[str] = frozenset()
    teams: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()  # the request carries all of them
    requires: frozenset[str] = frozenset()  # features the request needs (detected or asked)
    max_cost_usd: Decimal | None = None  # the caller's cost limit is at most this
    max_latency_ms: float | None = None  # the caller's latency limit is at most this
    max_tokens: TokenRange | None = None  # the answer asked (max_tokens, else the default estimate)
    prompt_tokens: TokenRange | None = None  # the prompt's estimated tokens


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    when: Conditions
    prefer: tuple[tuple[str, float], ...]  # (provider, weight)
    order: int = 100
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class Arm:
    """One arm: its providers (one provider, or every provider of a model; neither: every eligible
    provider) and the strategy that ranks them (None: the request's)."""

    name: str
    basis_points: int
    provider: str | None = None
    model: str | None = None
    strategy: str | None = None

    def takes(self, provider_name: str, model: str) -> bool:
        if self.provider:
            return provider_name == self.provider
        return model == self.model if self.model else True


@dataclass(frozen=True, slots=True)
class Experiment:
    """A traffic split across arms (providers, models or strategies). Applies to requests that name it, and
    to every request for `model` when one is set."""

    name: str
    arms: tuple[Arm, ...]
    model: str | None = None
    sticky: bool = False  # the same key always lands in the same arm
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    version: int = 0
    default_strategy: str | None = None
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    routes: Mapping[str, Route] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()  # in evaluation order
    experiments: Mapping[str, Experiment] = field(default_factory=dict)
    tiers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # smart routing's models per class
    raw: Mapping[str, Any] = field(default_factory=dict)  # as declared, for to_json

    def route_for(self, model: str | None) -> Route | None:
        if not model:
            return None
        return next((r for r in self.routes.values() if r.model == model), None)

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, **self.raw}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> RoutingConfig:
        data = data or {}
        raw = {k: data[k] for k in (*KINDS, "default_strategy", "smart") if data.get(k) is not None}
        rules = sorted((_rule(n, b) for n, b in (data.get("rules") or {}).items()),
                       key=lambda r: (r.order, r.name))
        tiers = (data.get("smart") or {}).get("tiers") or {}
        return cls(
            version=int(data.get("version", 0)),
            default_strategy=data.get("default_strategy"),
            aliases={n: tuple(b["models"]) for n, b in (data.get("aliases") or {}).items()},
            routes={n: Route(n, b["model"], b.get("strategy") or ("smart" if b.get("smart_mode") else None),
                             Weights.of(b.get("weights")), b.get("smart_mode"))
                    for n, b in (data.get("routes") or {}).items()},
            rules=tuple(rules),
            experiments={n: _experiment(n, b) for n, b in (data.get("experiments") or {}).items()},
            tiers={t: tuple(tiers[t]) for t in TIERS if tiers.get(t)},
            raw=raw,
        )


def _rule(name: str, body: Mapping[str, Any]) -> Rule:
    when = body.get("when") or {}
    cost = when.get("max_cost_usd")
    latency = when.get("max_latency_ms")
    conditions = Conditions(
        models=frozenset(when.get("models") or ()), keys=frozenset(when.get("keys") or ()),
        teams=frozenset(when.get("teams") or ()), tags=frozenset(when.get("tags") or ()),
        requires=normalise_features(when.get("requires") or ()),
        max_cost_usd=None if cost is None else Decimal(str(cost)),
        max_latency_ms=None if latency is None else float(latency),
        max_tokens=TokenRange.of(when.get("max_tokens")), prompt_tokens=TokenRange.of(when.get("prompt_tokens")))
    prefer = tuple((p["provider"], float(p.get("weight", 1))) for p in body["prefer"])
    return Rule(name, conditions, prefer, int(body.get("order", 100)), bool(body.get("enabled", True)))


def _experiment(name: str, body: Mapping[str, Any]) -> Experiment:
    arms = tuple(Arm(a["name"], round(float(a["percent"]) * BASIS_POINTS / 100), a.get("provider"),
                     a.get("model"), strategy_name(a["strategy"]) if a.get("strategy") else None)
                 for a in body["arms"])
    return Experiment(name, arms, body.get("model"), bool(body.get("sticky", False)),
                      bool(body.get("enabled", True)))


def check_entry(kind: str, name: str, body: Mapping[str, Any]) -> None:
    """What the contract cannot say; `body` is already valid against its schema."""
    if kind == "rules":
        _check_ranges(name, body.get("when") or {})
    if kind == "routes" and body.get("smart_mode") and strategy_name(body.get("strategy") or "smart") != "smart":
        raise InvalidRequest(f"route {name}: smart_mode {body['smart_mode']} ranks by smart, not by strategy"
                             f" {body['strategy']}: leave strategy out or make it smart", field="smart_mode")
    if kind != "experiments":
        return
    arms = body["arms"]
    names = [a["name"] for a in arms]
    if len(set(names)) != len(names):
        raise InvalidRequest(f"experiment {name}: arm names must be unique", field="arms")
    for i, arm in enumerate(arms):
        if "provider" in arm and "model" in arm or not ({"provider", "model", "strategy"} & arm.keys()):
            raise InvalidRequest(f"experiment {name}: arm {arm['name']} needs a strategy, or exactly one of"
                                 " provider or model (or a strategy and one of them)", field=f"arms.{i}")
        if "strategy" in arm and strategy_name(arm["strategy"]) not in ARM_STRATEGIES:
            raise InvalidRequest(f"experiment {name}: arm {arm['name']}: strategy must be one of"
                                 f" {', '.join(ARM_STRATEGIES)}", field=f"arms.{i}.strategy")
    total = sum(round(float(a["percent"]) * BASIS_POINTS / 100) for a in arms)
    if total != BASIS_POINTS:
        raise InvalidRequest(f"experiment {name}: arm percentages add up to {total / 100:g}, not 100",
                             field="arms")


def _check_ranges(name: str, when: Mapping[str, Any]) -> None:
    for condition in ("max_tokens", "prompt_tokens"):
        bounds = when.get(condition) or {}
        if "min" in bounds and "max" in bounds and bounds["min"] > bounds["max"]:
            raise InvalidRequest(f"rule {name}: {condition} min {bounds['min']} > max {bounds['max']}",
                                 field=f"when.{condition}")


def alias_cycle(aliases: Mapping[str, Sequence[str]], name: str | None = None) -> tuple[str, ...] | None:
    """A way some alias comes back to itself through other aliases, as (alias, ..., alias): through
    `name` when given (a cycle elsewhere is not its business), else the first found. None: none.

    A member that names another alias is taken as that alias; a member that names its own alias
    is the model of that name (gpt-4: [gpt-4, gpt-4-0613]), not a cycle. Depth-first without
    recursion, each alias explored once: a chain of any length is followed in linear time."""

    def onward(alias: str) -> Iterator[str]:
        return (m for m in aliases.get(alias, ()) if m != alias and m in aliases)

    done: set[str] = set()  # explored: no cycle (through `name`) is reached from it
    for root in (name,) if name is not None else sorted(aliases):
        if root in done or root not in aliases:
            continue
        path, on_path, stack = [root], {root}, [onward(root)]
        while stack:
            for member in stack[-1]:
                if member in on_path:  # the walk came back
                    if name is None or member == name:
                        return (*path[path.index(member):], member)
                elif member not in done:
                    path.append(member)
                    on_path.add(member)
                    stack.append(onward(member))
                    break
            else:
                on_path.discard(left := path.pop())
                done.add(left)
                stack.pop()
    return None


def check_alias(aliases: Mapping[str, Sequence[str]], name: str | None = None, *, field: str) -> None:
    """A 400 naming the alias, the cycle and `field` (`{name}` in it: the alias) when an alias
    resolves to itself through other aliases (see `alias_cycle`)."""
    cycle = alias_cycle(aliases, name)
    if cycle is not None:
        raise InvalidRequest(f"alias {cycle[0]} resolves to itself through other aliases: {' -> '.join(cycle)}",
                             field=field.format(name=cycle[0]))
