"""What the router has observed of each provider (P95 latency, success rate, sample size over a
sliding window) and how selection uses it: the registered SLO is the prior until a provider has
`min_samples` outcomes (`latency_p95_ms` for the P95, `availability` for the success rate); below
the success-rate floor a provider is left out of latency routing.

Published in the registry snapshot as `observed` (contracts/registry_snapshot.schema.json).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.common.registry.provider import Provider

DEFAULT_WINDOW_S = 24 * 3600.0
DEFAULT_MIN_SAMPLES = 20
DEFAULT_SUCCESS_FLOOR = 0.8


@dataclass(frozen=True, slots=True)
class ProviderStats:
    p95_ms: float | None  # over successful outcomes; None when none succeeded
    success_rate: float
    samples: int

    def to_json(self) -> dict[str, Any]:
        return {"p95_ms": self.p95_ms, "success_rate": round(self.success_rate, 6), "samples": self.samples}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProviderStats:
        p95 = data.get("p95_ms")
        return cls(None if p95 is None else float(p95), float(data["success_rate"]), int(data["samples"]))


@dataclass(frozen=True, slots=True)
class Observed:
    window_s: float = DEFAULT_WINDOW_S
    min_samples: int = DEFAULT_MIN_SAMPLES
    success_floor: float = DEFAULT_SUCCESS_FLOOR
    providers: Mapping[str, ProviderStats] = field(default_factory=dict)

    def get(self, name: str) -> ProviderStats | None:
        return self.providers.get(name)

    def to_json(self) -> dict[str, Any]:
        return {"window_s": self.window_s, "min_samples": self.min_samples,
                "success_floor": self.success_floor,
                "providers": {n: s.to_json() for n, s in sorted(self.providers.items())}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Observed:
        if not data:
            return cls()
        return cls(float(data.get("window_s", DEFAULT_WINDOW_S)),
                   int(data.get("min_samples", DEFAULT_MIN_SAMPLES)),
                   float(data.get("success_floor", DEFAULT_SUCCESS_FLOOR)),
                   {n: ProviderStats.from_json(s) for n, s in (data.get("providers") or {}).items()})


@dataclass(frozen=True, slots=True)
class Latency:
    """A provider's expected P95 for ranking, and where the figure comes from."""

    ms: float | None
    source: str  # "observed" | "slo" | "none"
    samples: int = 0
    success_rate: float | None = None
    availability: float | None = None  # the declared SLO: the success rate expected until observed


def expected_latency(provider: Provider, observed: Observed) -> Latency:
    stats = observed.providers.get(provider.name)
    if stats is not None and stats.samples >= observed.min_samples and stats.p95_ms is not None:
        return Latency(stats.p95_ms, "observed", stats.samples, stats.success_rate)
    samples = stats.samples if stats else 0
    rate = stats.success_rate if stats else None
    slo = provider.slo_latency_p95_ms
    return Latency(slo, "slo" if slo is not None else "none", samples, rate, provider.slo_availability)


def judged(latency: Latency, observed: Observed) -> bool:
    """Enough outcomes to judge the success rate by what was observed."""
    return latency.samples >= observed.min_samples and latency.success_rate is not None


def below_floor(latency: Latency, observed: Observed) -> bool:
    """Enough outcomes to judge, and too few of them succeeded; until then, a declared
    availability under the floor."""
    if judged(latency, observed):
        return latency.success_rate < observed.success_floor  # type: ignore[operator]
    return latency.availability is not None and latency.availability < observed.success_floor


def evidence(latency: Latency, min_samples: int) -> float:
    """How much a latency figure can be trusted, 0..1: a declared SLO 0.3, no figure 0.1, and
    observations from 0.3 towards 1 as samples grow past the minimum."""
    if latency.source == "none":
        return 0.1
    if latency.source == "slo":
        return 0.3
    return 0.3 + 0.7 * latency.samples / (latency.samples + max(min_samples, 1))


def describe(latency: Latency, min_samples: int) -> str:
    if latency.ms is None:
        return "no latency figure"
    if latency.source == "observed":
        return f"p95 {latency.ms:g} ms observed over {latency.samples} outcomes"
    if latency.samples:
        return f"p95 {latency.ms:g} ms (SLO; {latency.samples} outcomes < {min_samples} needed)"
    return f"p95 {latency.ms:g} ms (SLO)"
