"""How fast and how reliable each provider really is in a simulation: time to first token
(lognormal through its p50 and p95), tokens per second, and an error rate. Taken from the
providers file's `profiles` when given, else from the registered SLO (p95; p50 half of it) and
availability (error rate 1 - availability, else 1 %)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from services.common.registry.provider import Provider

Z95 = 1.6449


@dataclass(frozen=True, slots=True)
class Profile:
    p50_ms: float
    p95_ms: float
    tps: float | None = None  # output tokens per second; None: the answer's length adds nothing
    error_rate: float = 0.01

    def latency_ms(self, rng: random.Random, output_tokens: int) -> float:
        sigma = max(math.log(self.p95_ms / self.p50_ms), 0.0) / Z95
        first = math.exp(rng.gauss(math.log(self.p50_ms), sigma))
        return first + (output_tokens / self.tps * 1000 if self.tps else 0.0)

    @classmethod
    def of(cls, provider: Provider, declared: dict[str, Any] | None) -> Profile:
        if declared:
            return cls(float(declared["p50_ms"]), float(declared["p95_ms"]),
                       float(declared["tps"]) if declared.get("tps") else None,
                       float(declared.get("error_rate", 0.01)))
        p95 = provider.slo_latency_p95_ms or 1000.0
        availability = provider.slo.get("availability")
        return cls(p95 / 2, p95, None, 1 - float(availability) if availability is not None else 0.01)
