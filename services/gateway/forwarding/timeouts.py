"""How long one upstream attempt may wait: to connect, for the first byte, between two chunks of
the answer (idle), and in total. Defaults come from settings; a provider's registration may
override any of them (`timeouts`)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from services.common.registry.provider import Provider
from services.common.settings import Settings

FIELDS = ("connect_s", "first_byte_s", "idle_s", "total_s")


@dataclass(frozen=True)
class Timeouts:
    connect_s: float
    first_byte_s: float  # from sending the request to the answer's status line and headers
    idle_s: float  # the longest silence between two chunks of the answer's body
    total_s: float  # the whole attempt, last byte included

    @classmethod
    def from_settings(cls, settings: Settings) -> Timeouts:
        return cls(settings.upstream_connect_timeout_s, settings.upstream_read_timeout_s,
                   settings.upstream_idle_timeout_s, settings.upstream_total_timeout_s)

    def for_provider(self, provider: Provider) -> Timeouts:
        """These defaults with the provider's own overrides (unknown keys are ignored)."""
        if not provider.timeouts:
            return self
        return replace(self, **{k: float(v) for k, v in provider.timeouts.items() if k in FIELDS})

    @property
    def headers_s(self) -> float:
        """How long to wait for the status line: the first-byte timeout within the total."""
        return min(self.first_byte_s, self.total_s)
