"""Each algorithm against its reference model over random request times and costs."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.gateway.limits.spec import LimitSpec
from tests.unit.gateway.limits.reference import (
    ALGORITHM_NAMES,
    MODELS,
    START,
    Run,
    reset,
    retry_after,
    specs,
    steps,
)


def drive(spec: LimitSpec, ops: list[tuple[str, int, int]], *, check_retry: bool = True) -> Run:
    """Run `ops` through the implementation and the reference model in step; every decision
    must agree, every refusal's retry_after must be honest and exact, every reset true."""
    run, model = Run(spec), MODELS[spec.algorithm](spec)
    corrections = any(kind == "correct" for kind, _, _ in ops)
    now, last = START, None  # last: (time, cost charged so far) of the last admitted request
    for kind, gap, amount in ops:
        now += gap
        if kind == "correct":
            if last is not None:
                run.correct(now, last[0], amount - last[1])
                model.correct(now, last[0], amount - last[1])
                last = (last[0], amount)
            continue
        expected_retry = None if model.evaluate(now, amount)[0] else retry_after(model, now, amount, spec.window_us)
        decision = run.offer(now, amount)
        assert (decision.allowed, decision.remaining) == model.offer(now, amount), (now - START, amount)
        assert decision.name == spec.name and decision.limit == spec.capacity
        if decision.allowed:
            last = (now, amount)
            assert decision.retry_after_us == 0
        else:
            assert decision.retry_after_us == expected_retry
            if check_retry:
                assert_retry_is_honest(run, now, amount, decision.retry_after_us)
        if not (corrections and spec.algorithm == "sliding_log"):  # a refund to zero fills a log early
            assert decision.reset_us == reset(model, now, spec.window_us), "reset: when next full"
        assert run.probe(now + decision.reset_us, 0).remaining == spec.capacity, "full at reset"
    return run


def assert_retry_is_honest(run: Run, now: int, cost: int, retry: int | None) -> None:
    if retry is None:
        assert cost > run.spec.capacity, "only a request larger than the limit can never pass"
        return
    assert retry > 0
    assert run.probe(now + retry, cost).allowed, "a retry at now + retry_after is admitted"
    assert not run.probe(now + retry - 1, cost).allowed, "and not a microsecond earlier"


@pytest.mark.parametrize("algorithm", ALGORITHM_NAMES)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_decisions_match_the_reference_model(algorithm, data):
    spec = data.draw(specs(algorithm))
    drive(spec, data.draw(steps(spec)))


@pytest.mark.parametrize("algorithm", ALGORITHM_NAMES)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_corrections_match_the_reference_model(algorithm, data):
    spec = data.draw(specs(algorithm, unit="tokens"))
    drive(spec, data.draw(steps(spec, corrections=True)))


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_a_bucket_never_admits_more_than_its_burst_plus_the_refill(data):
    spec = data.draw(specs("token_bucket"))
    admitted = drive(spec, data.draw(steps(spec)), check_retry=False).admitted
    rate = Fraction(spec.limit, spec.window_us)
    for i, (a, _) in enumerate(admitted):
        for b, _ in admitted[i:]:
            spent = sum(c for t, c in admitted if a <= t <= b)
            assert spent <= spec.capacity + (b - a) * rate


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_a_sliding_log_never_admits_more_than_the_limit_in_any_window(data):
    spec = data.draw(specs("sliding_log"))
    admitted = drive(spec, data.draw(steps(spec)), check_retry=False).admitted
    for t, _ in admitted:
        assert sum(c for u, c in admitted if t - spec.window_us < u <= t) <= spec.limit


@pytest.mark.parametrize("algorithm", ["fixed_window", "sliding_window"])
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_windows_never_admit_more_than_the_limit_in_one_aligned_window(algorithm, data):
    spec = data.draw(specs(algorithm))
    per_window: dict[int, int] = {}
    for t, cost in drive(spec, data.draw(steps(spec)), check_retry=False).admitted:
        per_window[t // spec.window_us] = per_window.get(t // spec.window_us, 0) + cost
    assert all(total <= spec.limit for total in per_window.values())


def test_a_bucket_refills_fractional_tokens_exactly():
    # 7 per minute: one token every 8.571428... s; 3 taken, then 8571428 µs give back less than one
    run = Run(LimitSpec("t", "key", "token_bucket", 7, 60, burst=3))
    assert [run.offer(START, 1).allowed for _ in range(4)] == [True, True, True, False]
    refused = run.offer(START + 8_571_428, 1)
    assert not refused.allowed and refused.retry_after_us == 1  # 60e6 / 7 = 8571428.57 µs per token
    assert run.offer(START + 8_571_429, 1).allowed
    # the 0.43 µs of refill beyond the token taken are kept: the next token is 8571428.14 µs away
    assert run.probe(START + 8_571_429, 1).retry_after_us == 8_571_429


def test_fixed_windows_are_aligned_to_utc():
    day = LimitSpec("d", "key", "fixed_window", 1, 86400)
    midnight = START - START % 86_400_000_000
    run = Run(day)
    assert run.offer(midnight - 1, 1).allowed  # 23:59:59.999999
    refused = run.offer(midnight - 1, 1)
    assert refused.retry_after_us == 1 and refused.reset_us == 1
    assert run.offer(midnight, 1).allowed  # a new UTC day


def test_the_weighted_window_weighs_the_previous_window_by_its_overlap():
    run = Run(LimitSpec("w", "key", "sliding_window", 10, 60))
    start = START - START % 60_000_000
    for _ in range(10):
        assert run.offer(start, 1).allowed
    # 45 s into the next window the previous one weighs 25 %: 2.5 of 10 used, 7 left
    assert run.probe(start + 105_000_000, 7).allowed
    assert not run.probe(start + 105_000_000, 8).allowed


def test_a_request_larger_than_the_limit_never_passes():
    for algorithm in ALGORITHM_NAMES:
        decision = Run(LimitSpec("x", "key", algorithm, 5, 60, unit="tokens")).offer(START, 6)  # type: ignore[arg-type]
        assert not decision.allowed and decision.retry_after_us is None
