"""Which limits apply to one request: the configured specs, indexed once, turned into `Hit`s for
a caller (its key, user, team, org, IP and the provider chosen)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.gateway.limits.decision import Hit
from services.gateway.limits.spec import Dimension, LimitSpec

GLOBAL = "*"


@dataclass(frozen=True, slots=True)
class Subject:
    """The caller's value in each dimension; a limit whose dimension is None here does not apply."""

    key: str | None = None
    user: str | None = None
    team: str | None = None
    org: str | None = None
    ip: str | None = None
    provider: str | None = None

    def value(self, dimension: Dimension) -> str | None:
        return GLOBAL if dimension == "global" else getattr(self, dimension)


class LimitSet:
    """General limits apply to every value of their dimension; a custom quota (a spec with
    `match`) to one value, in place of the general limit of the same name. Expired specs apply to
    nobody."""

    def __init__(self, specs: Iterable[LimitSpec]) -> None:
        self.general: list[LimitSpec] = []
        self.custom: dict[tuple[Dimension, str], list[LimitSpec]] = {}
        for spec in specs:
            if spec.match is None:
                self.general.append(spec)
            else:
                self.custom.setdefault((spec.dimension, spec.match), []).append(spec)
        self._custom_dimensions = sorted({d for d, _ in self.custom})
        self.dimensions = frozenset([*(s.dimension for s in self.general), *self._custom_dimensions])

    def hits(self, subject: Subject, *, tokens: int = 0, now_us: int, usage: bool = False) -> list[Hit]:
        """The hits of one request whose token estimate is `tokens`; with `usage`, of cost zero
        (what `Limiter.peek` needs to report the caller's current usage)."""
        if usage:
            return [Hit(h.spec, h.key, 0) for h in self.hits(subject, now_us=now_us)]
        out: list[Hit] = []
        replaced: set[str] = set()
        for dimension in self._custom_dimensions:
            value = subject.value(dimension)
            if value is None:
                continue
            for spec in self.custom.get((dimension, value), ()):
                if spec.active(now_us):
                    out.append(hit(spec, value, tokens))
                    replaced.add(spec.name)
        for spec in self.general:
            value = subject.value(spec.dimension)
            if value is not None and spec.name not in replaced and spec.active(now_us):
                out.append(hit(spec, value, tokens))
        return out


def hit(spec: LimitSpec, value: str, tokens: int) -> Hit:
    """`spec` for the caller whose value in its dimension is `value` (one counter per value)."""
    return Hit(spec, f"{spec.fingerprint}|{value}", tokens if spec.unit == "tokens" else 1)
