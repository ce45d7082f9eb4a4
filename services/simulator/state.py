"""What the simulator keeps between requests: its defaults, the error dice, the model list."""

from __future__ import annotations

import time
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

    @classmethod
    def from_settings(cls, sim: SimSettings) -> SimState:
        defaults = Spec(latency_ms=sim.latency_ms, tps=sim.tps, tokens=sim.tokens, error_rate=sim.error_rate,
                        status=sim.status, seed=sim.seed)
        # the env defaults go through the same checks as a URL spec
        parse_spec(f"latency_ms={sim.latency_ms},tps={sim.tps},tokens={sim.tokens},"
                   f"error_rate={sim.error_rate},status={sim.status}")
        return cls(defaults, [m.strip() for m in sim.models.split(",") if m.strip()])

    def spec(self, text: str | None) -> Spec:
        """The behaviour for a request: the URL spec over the defaults (raises SpecError)."""
        return self.defaults if not text else parse_spec(text, self.defaults)
