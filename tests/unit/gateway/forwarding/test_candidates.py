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
    assert skip_unavailable(decision, board()) is decision


def test_an_open_circuit_and_an_unhealthy_provider_are_skipped_with_their_reasons():
    decision = Decision((candidate("a"), candidate("b", "unhealthy", "3 failed probes: cannot connect"),
                         candidate("c")), "a is cheapest", (("z", "inactive"),))
    out = skip_unavailable(decision, board("a"))
    assert [c.name for c in out.ranked] == ["c"]
    assert [name for name, _ in out.excluded] == ["z", "a", "b"]
    assert "skipped a (circuit open (1 consecutive failures)" in out.reason
    assert "b (unhealthy (3 failed probes: cannot connect))" in out.reason


def test_when_every_provider_is_out_the_request_is_refused_naming_them():
    decision = Decision((candidate("a"), candidate("b", "unhealthy")), "x")
    with pytest.raises(ProvidersUnavailable) as info:
        skip_unavailable(decision, board("a"))
    assert info.value.status == 503
    assert "a: circuit open" in info.value.message and "b: unhealthy" in info.value.message
