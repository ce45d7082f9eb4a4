"""Turning probe results and reported outcomes into a provider's health status.

Active: `unhealthy_after` failed probes in a row take a provider out, `healthy_after` good ones in
a row bring it back (an unchecked provider is healthy at its first good probe). Passive:
`passive_failures` failed requests in a row, as the gateways report them, take it out too (0: off);
only good probes bring it back. A status changes only on these thresholds, so the registry (and the
snapshot gateways follow) moves only when a provider goes in or out.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.common.registry.provider import Health


@dataclass
class Streaks:
    good_probes: int = 0
    failed_probes: int = 0
    failed_outcomes: int = 0


@dataclass(frozen=True)
class Thresholds:
    unhealthy_after: int = 3
    healthy_after: int = 2
    passive_failures: int = 0


class HealthTracker:
    def __init__(self, thresholds: Thresholds) -> None:
        self.thresholds = thresholds
        self._streaks: dict[str, Streaks] = {}

    def streaks(self, name: str) -> Streaks:
        return self._streaks.setdefault(name, Streaks())

    def forget(self, name: str) -> None:
        self._streaks.pop(name, None)

    def probe(self, name: str, current: Health, ok: bool, detail: str, now: str) -> Health | None:
        """A probe's result; the provider's new health when its status changes, else None."""
        s = self.streaks(name)
        t = self.thresholds
        if ok:
            s.good_probes, s.failed_probes, s.failed_outcomes = s.good_probes + 1, 0, 0
            if current.status == "unknown" or (current.unhealthy and s.good_probes >= t.healthy_after):
                return Health("healthy", None, now)
            return None
        s.good_probes, s.failed_probes = 0, s.failed_probes + 1
        if not current.unhealthy and s.failed_probes >= t.unhealthy_after:
            return Health("unhealthy", f"{s.failed_probes} health checks failed in a row: {detail}", now)
        return None

    def outcome(self, name: str, current: Health, ok: bool, now: str) -> Health | None:
        """A request outcome a gateway reported; the new health when it takes the provider out."""
        s = self.streaks(name)
        if ok:
            s.failed_outcomes = 0
            return None
        s.failed_outcomes += 1
        limit = self.thresholds.passive_failures
        if limit and not current.unhealthy and s.failed_outcomes >= limit:
            s.failed_outcomes, s.good_probes = 0, 0
            return Health("unhealthy", f"{limit} requests failed in a row (reported by gateways)", now)
        return None
