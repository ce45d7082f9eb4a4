"""Which of the ranked providers a request may try: those whose circuit is open (or whose
half-open probe is in flight) and those the router's health checks found unhealthy are skipped,
and the decision's reason says which and why."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, TypeVar

from services.common.errors import ProvidersUnavailable
from services.gateway.forwarding.breaker import Breakers

D = TypeVar("D", bound=Any)  # selection's Decision: a dataclass with ranked, reason and excluded


def skip_unavailable(decision: D, breakers: Breakers, enough: int) -> D:
    """Walk the ranking only until `enough` usable providers are found (a decision over a large
    catalog sorts the rest lazily: reading all of it would cost more than the decision)."""
    skipped: list[tuple[str, str]] = []
    usable: list[Any] = []
    for c in decision.ranked:
        why = breakers.refusal(c.name) or c.provider.health.exclusion()
        if why is not None:
            skipped.append((c.name, why))
        else:
            usable.append(c)
            if len(usable) == enough:
                break
    if not skipped:
        return decision
    if not usable:
        raise ProvidersUnavailable("every provider that could serve this request is out for now: "
                                   + "; ".join(f"{name}: {why}" for name, why in skipped))
    ranked = tuple(usable)
    reason = decision.reason + "; skipped " + ", ".join(f"{name} ({why})" for name, why in skipped)
    return replace(decision, ranked=ranked, excluded=decision.excluded + tuple(skipped), reason=reason)
