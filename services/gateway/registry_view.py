"""The gateway's local, read-only view of the router's registry (kept fresh by a follower)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from services.common.registry.provider import Provider
from services.common.selection.config import RoutingConfig
from services.common.selection.observed import Observed


@dataclass(frozen=True, slots=True)
class RegistryView:
    providers: tuple[Provider, ...] = ()
    by_model: dict[str, tuple[Provider, ...]] = field(default_factory=dict)
    routing: RoutingConfig = field(default_factory=RoutingConfig)  # aliases, routes, rules, experiments
    observed: Observed = field(default_factory=Observed)  # the router's outcome stats per provider

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> RegistryView:
        providers = tuple(Provider.from_json(p) for p in data.get("providers", []))
        by_model: dict[str, list[Provider]] = {}
        for p in providers:
            by_model.setdefault(p.model, []).append(p)
        return cls(providers, {m: tuple(ps) for m, ps in by_model.items()},
                   RoutingConfig.from_json(data.get("routing")), Observed.from_json(data.get("observed")))

    def candidates_for(self, model: str | None) -> tuple[Provider, ...]:
        return self.by_model.get(model, ()) if model else self.providers


class Budgets(frozenset[str]):
    """Every budget the ledger holds, as 'run:<id>', 'key:<key_id>', 'user:<user>', 'team:<team>',
    'org:<org>', 'provider:<name>', 'model:<model>' or 'global:all', with each one's cap (`caps`,
    exact) when the ledger gave them."""

    caps: dict[str, Decimal]

    def changed(self, newer: Budgets) -> set[str]:
        """The budgets whose cap is not the same in `newer` (lowered, raised or gone)."""
        return {b for b in self | newer if self.caps.get(b) != newer.caps.get(b)}


def budgeted(data: dict[str, Any]) -> Budgets:
    scoped = data.get("scoped") or {}
    out = Budgets([f"run:{r}" for r in data.get("run_ids", [])]
                  + [f"{scope}:{i}" for scope, ids in scoped.items() for i in ids])
    out.caps = {name: Decimal(str(cap)) for name, cap in (data.get("caps") or {}).items()}
    return out
