"""The candidates a request tries: open circuits and unhealthy providers are skipped, and the
decision's reason names each and why."""

from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from services.common.errors import ProvidersUnavailable
from services.common.registry.provider import Health
from services.gateway.forwarding.breaker import BreakerConfig, Breakers
from services.gateway.forwarding.candidates import skip_unavailable


@dataclass(frozen=True)
class Decision:  # the fields of selection's Decision that skipping reads and rewrites
    ranked: tuple
    reason: str
    excluded: tuple = ()


def candidate(name: str, health: str = "healthy", why: str | None = None):
    return SimpleNamespace(name=name, provider=SimpleNamespace(health=Health(health, why)))


def board(*open_names: str) -> Breakers:
    breakers = Breakers(BreakerConfig(failures=1, cooldown_s=60), clock=lambda: 0.0)
    for name in open_names:
        breakers[name].record(False)
    return breakers


def test_nothing_to_skip_keeps_the_decision():
    decision = Decision((candidate("a"), candidate("b")), "cheapest")
    assert skip_unavailable(decision, board(), 3) is decision


def test_an_open_circuit_and_an_unhealthy_provider_are_skipped_with_their_reasons():
    decision = Decision((candidate("a"), candidate("b", "unhealthy", "3 failed probes: cannot connect"),
                         candidate("c")), "a is cheapest", (("z", "inactive"),))
    out = skip_unavailable(decision, board("a"), 3)
    assert [c.name for c in out.ranked] == ["c"]
    assert [name for name, _ in out.excluded] == ["z", "a", "b"]
    assert "skipped a (circuit open (1 consecutive failures)" in out.reason
    assert "b (unhealthy (3 failed probes: cannot connect))" in out.reason


def test_when_every_provider_is_out_the_request_is_refused_naming_them():
    decision = Decision((candidate("a"), candidate("b", "unhealthy")), "x")
    with pytest.raises(ProvidersUnavailable) as info:
        skip_unavailable(decision, board("a"), 3)
    assert info.value.status == 503
    assert "a: circuit open" in info.value.message and "b: unhealthy" in info.value.message


class Lazy(tuple):
    """A ranking that fails if read past its first `readable` entries (the rest is never sorted)."""

    def __new__(cls, items, readable):
        self = super().__new__(cls, items)
        self.readable = readable
        return self

    def __iter__(self):
        for i, item in enumerate(tuple.__iter__(self)):
            if i >= self.readable:
                raise AssertionError("read past what the request needs")
            yield item


def test_only_as_much_of_the_ranking_is_read_as_the_request_can_use():
    ranked = Lazy([candidate("a"), candidate("b"), candidate("c"), candidate("d"), candidate("e")], readable=3)
    out = skip_unavailable(Decision(ranked, "x"), board("a"), 2)
    assert [c.name for c in out.ranked] == ["b", "c"] and [n for n, _ in out.excluded] == ["a"]
    unchanged = Decision(Lazy([candidate("a"), candidate("b"), candidate("c")], readable=2), "x")
    assert skip_unavailable(unchanged, board(), 2) is unchanged
