"""What the simulator keeps between requests: its defaults, the error dice, the model list, and
how many calls each spec has had (`GET /requests`)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from services.simulator.config import SimSettings
from services.simulator.faults import ErrorDice
from services.simulator.spec import Spec, parse_spec


@dataclass
class SimState:
    defaults: Spec
    models: list[str]
    dice: ErrorDice = field(default_factory=ErrorDice)
    started: int = field(default_factory=lambda: int(time.time()))
    calls: Counter[str] = field(default_factory=Counter)  # chat and embeddings calls, by spec text
    probes: Counter[str] = field(default_factory=Counter)  # model-list calls, by spec text
    abandoned_streams: int = 0  # streams whose client left before their end

    @classmethod
    def from_settings(cls, sim: SimSettings) -> SimState:
        defaults = Spec(latency_ms=sim.latency_ms, tps=sim.tps, tokens=sim.tokens, error_rate=sim.error_rate,
                        status=sim.status, seed=sim.seed)
        # the env defaults go through the same checks as a URL spec
        parse_spec(f"latency_ms={sim.latency_ms},tps={sim.tps},tokens={sim.tokens},"
                   f"error_rate={sim.error_rate},status={sim.status}")
        return cls(defaults, [m.strip() for m in sim.models.split(",") if m.strip()])

    def count(self, spec_text: str | None) -> int:
        """Count one call with this spec; its number (1 for the first)."""
        self.calls[spec_text or ""] += 1
        return self.calls[spec_text or ""]

    def spec(self, text: str | None) -> Spec:
        """The behaviour for a request: the URL spec over the defaults (raises SpecError)."""
        return self.defaults if not text else parse_spec(text, self.defaults)
