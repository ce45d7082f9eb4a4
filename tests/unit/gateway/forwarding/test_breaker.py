"""The circuit breaker's state machine, on an injected clock: closed → open on consecutive
failures or on the failure rate of its window, open → half-open after the cool-down with one
probe, half-open → closed on the probe's success and back to open on its failure."""

import pytest

from services.gateway.forwarding.breaker import CLOSED, HALF_OPEN, OPEN, BreakerConfig, Breakers, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock():
    return Clock()


def breaker(clock, **config) -> CircuitBreaker:
    defaults = {"failures": 3, "failure_rate": 0.5, "window_s": 10, "min_calls": 8, "cooldown_s": 5}
    return CircuitBreaker(BreakerConfig(**{**defaults, **config}), clock)


def fail(b: CircuitBreaker, n: int) -> None:
    for _ in range(n):
        assert b.acquire()
        b.record(False)


def test_it_opens_after_n_consecutive_failures(clock):
    b = breaker(clock)
    fail(b, 2)
    assert b.state == CLOSED and b.acquire()
    b.record(False)
    assert b.state == OPEN and "3 consecutive failures" in b.why
    assert not b.acquire() and "circuit open" in b.refusal()


def test_a_success_resets_the_consecutive_count(clock):
    b = breaker(clock)
    fail(b, 2)
    b.record(True)
    fail(b, 2)
    assert b.state == CLOSED and b.consecutive == 2


def test_it_opens_when_the_failure_rate_of_the_window_passes_the_threshold(clock):
    b = breaker(clock, failures=100, min_calls=8)
    for ok in [True, False] * 3 + [True]:  # 3 of 7: under min_calls anyway
        b.record(ok)
    assert b.state == CLOSED
    b.record(False)  # 4 of 8 = 50 %: not over
    assert b.state == CLOSED
    b.record(False)  # 5 of 9 > 50 %
    assert b.state == OPEN and "5 of 9 calls failed" in b.why


def test_failures_older_than_the_window_no_longer_count(clock):
    b = breaker(clock, failures=100, min_calls=4)
    for _ in range(3):
        b.record(False)
    clock.advance(11)  # past the 10 s window
    b.record(False)
    for _ in range(3):
        b.record(True)
    assert b.state == CLOSED  # 1 of 4 in the window, not 4 of 7


def test_open_refuses_until_the_cool_down_then_lets_exactly_one_probe_through(clock):
    b = breaker(clock)
    fail(b, 3)
    clock.advance(4.9)
    assert not b.acquire() and b.state == OPEN
    clock.advance(0.1)
    assert b.refusal() is None  # due: the next caller becomes the probe
    assert b.acquire() and b.state == HALF_OPEN
    assert not b.acquire() and "probe call is in flight" in b.refusal()


def test_a_successful_probe_closes_it_and_clears_the_counts(clock):
    b = breaker(clock)
    fail(b, 3)
    clock.advance(5)
    assert b.acquire()
    b.record(True)
    assert b.state == CLOSED and b.consecutive == 0 and b.window.totals(clock()) == (0, 0)
    assert b.acquire() and b.acquire()


@pytest.mark.parametrize("probe_result", [False, None])  # failed, or its caller went away without one
def test_after_a_failed_or_lost_probe_the_next_comes_a_whole_cool_down_later(clock, probe_result):
    b = breaker(clock)
    fail(b, 3)
    clock.advance(5)
    assert b.acquire()
    if probe_result is not None:
        b.record(probe_result)
        assert b.state == OPEN and b.why == "its half-open probe failed" and b.opened == 2
    clock.advance(4)
    assert not b.acquire()
    clock.advance(1)
    assert b.acquire() and b.state == HALF_OPEN


def test_results_of_calls_started_before_it_opened_change_nothing(clock):
    b = breaker(clock)
    fail(b, 3)
    b.record(True)
    assert b.state == OPEN


def test_the_board_lists_only_providers_that_refuse_calls(clock):
    board = Breakers(BreakerConfig(failures=2, cooldown_s=5), clock)
    for _ in range(2):
        board["bad"].record(False)
    board["good"].record(True)
    assert set(board.unavailable()) == {"bad"} and "circuit open" in board.unavailable()["bad"]
    assert board.refusal("never-seen") is None
    summary = board.summary()
    assert (summary[CLOSED], summary[OPEN], summary["not_closed"]) == (1, 1, {"bad": OPEN})
    state = board.to_json()["bad"]
    assert state["state"] == OPEN and state["probe_in_s"] == 5 and state["consecutive_failures"] == 2
    clock.advance(5)
    assert board.unavailable() == {}
