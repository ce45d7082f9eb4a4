"""Step 2 of a request: the rate limits that apply to this caller, checked in one round trip.

General limits come from TOLLWAY_RATE_LIMITS (a JSON list of limit specs: global, per ip, per user,
team or org, with custom quotas through `match`); a virtual key's own limits come with the key
from the ledger. Tokens-per-minute limits are charged the request's estimate before the call and
corrected with the real usage after it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError

from services.common.clock import Clock, to_us
from services.gateway.limits.decision import Hit, Verdict
from services.gateway.limits.headers import rate_limited
from services.gateway.limits.limiter import Limiter
from services.gateway.limits.resolve import LimitSet, Subject
from services.gateway.limits.spec import LimitSpec

_SPECS = TypeAdapter(list[LimitSpec])


def parse_specs(raw: Any, *, where: str) -> list[LimitSpec]:
    """Limit specs from JSON text or already-parsed data; a ValueError naming `where` otherwise."""
    try:
        return _SPECS.validate_json(raw) if isinstance(raw, str | bytes) else _SPECS.validate_python(raw)
    except (ValidationError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None


def key_specs(limits: Iterable[dict[str, Any]]) -> tuple[LimitSpec, ...]:
    """A virtual key's limits (as the ledger publishes them) as specs of the key dimension."""
    return tuple(parse_specs([{**limit, "dimension": "key"} for limit in limits], where="key limits"))


class RateGate:
    def __init__(self, limiter: Limiter, general: Sequence[LimitSpec], clock: Clock) -> None:
        self.limiter = limiter
        self.general = LimitSet(general)
        self.clock = clock

    async def admit(self, subject: Subject, own: Sequence[LimitSpec], tokens: int,
                    published: LimitSet | None = None) -> Verdict | None:
        """Check and charge every limit that applies (this gateway's, the `published` ones set
        through the ledger, and the key's `own`); raise the 429 when one refuses. None when no
        limit applies to this caller."""
        now = to_us(self.clock.now())
        hits = self.general.hits(subject, tokens=tokens, now_us=now)
        if published is not None:
            hits += published.hits(subject, tokens=tokens, now_us=now)
        if own and subject.key is not None:
            hits += [Hit(spec, f"{spec.fingerprint}|{subject.key}", tokens if spec.unit == "tokens" else 1)
                     for spec in own if spec.active(now)]
        if not hits:
            return None
        if len(hits) > 1:  # the same limit set in two places counts once
            hits = list({h.key: h for h in reversed(hits)}.values())[::-1]
        verdict = await self.limiter.check(hits, now, subject)
        if not verdict.allowed:
            raise rate_limited(verdict)
        return verdict

    def standing(self, subject: Subject, own: Sequence[LimitSpec], now: int,
                 published: LimitSet | None = None) -> list[Hit]:
        """The hits (of cost zero) of every limit that applies to `subject` now, to `peek` at
        where it stands: this gateway's, the published ones and the key's `own`."""
        hits = self.general.hits(subject, now_us=now, usage=True)
        if published is not None:
            hits += published.hits(subject, now_us=now, usage=True)
        if subject.key is not None:
            hits += [Hit(s, f"{s.fingerprint}|{subject.key}", 0) for s in own if s.active(now)]
        return list({h.key: h for h in hits}.values())

    def in_force(self, published: LimitSet | None, own: Iterable[LimitSpec] = ()) -> list[LimitSpec]:
        """Every spec this gateway applies: its own, the published ones, and the keys' `own`."""
        sets = [self.general] if published is None else [self.general, published]
        return [*(s for ls in sets for s in [*ls.general, *(c for cs in ls.custom.values() for c in cs)]), *own]

    def reset_keys(self, specs: Iterable[LimitSpec], dimension: str, value: str, name: str | None,
                   now: int) -> list[tuple[LimitSpec, str]]:
        """The storage keys of the limits among `specs` (in force) that count `value` in `dimension`,
        the one named `name` (every one when None)."""
        out: dict[str, LimitSpec] = {}
        for spec in specs:
            if (spec.dimension == dimension and (name is None or spec.name == name)
                    and spec.match in (None, value) and spec.active(now)):
                out.setdefault(f"{spec.fingerprint}|{value}", spec)
        return [(spec, key) for key, spec in out.items()]

    def may_limit(self, published: LimitSet | None, own: Sequence[LimitSpec]) -> bool:
        """Whether any limit could apply to a caller (false with no limits anywhere: nothing to check)."""
        return bool(self.general.dimensions or own or (published is not None and published.dimensions))

    def has_provider_limits(self, published: LimitSet | None = None) -> bool:
        return "provider" in self.general.dimensions or (published is not None and "provider" in published.dimensions)

    async def within_provider_quota(self, providers: Sequence[str], tokens: int,
                                    published: LimitSet | None = None) -> list[str]:
        """Providers' own quotas (limits of the provider dimension): route elsewhere rather than
        over an upstream's quota. Returns the providers to try, the first being the best ranked
        one whose quota admits this request (and is charged for it); the 429 when none does.
        Fallbacks after the first are not charged: they only run when it failed."""
        now = to_us(self.clock.now())
        refusal: Verdict | None = None
        for i, name in enumerate(providers):
            subject = Subject(provider=name)
            hits = [h for h in self.general.hits(subject, tokens=tokens, now_us=now) if h.spec.dimension == "provider"]
            if published is not None:
                hits += [h for h in published.hits(subject, tokens=tokens, now_us=now)
                         if h.spec.dimension == "provider"]
            if not hits:
                return list(providers[i:])
            verdict = await self.limiter.check(hits, now, subject)
            if verdict.allowed:
                return list(providers[i:])
            if refusal is None or (verdict.retry_after_us or 0) < (refusal.retry_after_us or 0):
                refusal = verdict
        if refusal is None:
            return list(providers)
        raise rate_limited(refusal)

    async def settle(self, verdict: Verdict | None, actual_tokens: int) -> None:
        if verdict is not None:
            await self.limiter.correct(verdict, actual_tokens, to_us(self.clock.now()))
