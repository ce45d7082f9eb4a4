"""Several addresses of a service: the one that answered is kept, a failed one backs off (doubling,
capped) and is tried again after, and with every address backing off one is still tried."""

from __future__ import annotations

import pytest

from services.gateway.failover import Addresses, first_answer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_one_string_of_comma_separated_urls_is_every_address():
    assert Addresses.of("ledger", " http://a:1/, http://b:2 ,").urls == ["http://a:1", "http://b:2"]
    assert Addresses.of("ledger", "http://a:1").current == "http://a:1"
    with pytest.raises(ValueError):
        Addresses.of("ledger", " , ")


def test_a_failed_address_is_skipped_for_its_back_off_then_tried_again():
    clock = Clock()
    book = Addresses("ledger", ["http://a", "http://b"], backoff_s=0.5, max_backoff_s=2.0, clock=clock)
    assert book.order() == ["http://a", "http://b"]
    book.failed("http://a")
    assert book.order() == ["http://b"]
    book.succeeded("http://b")
    clock.now += 0.5
    assert book.order() == ["http://b", "http://a"]  # back in the list, after the one that answers
    book.failed("http://a")
    clock.now += 0.9
    assert book.order() == ["http://b"]  # second failure in a row: 1 s
    clock.now += 0.1
    assert book.order() == ["http://b", "http://a"]
    for _ in range(5):
        book.failed("http://a")
    clock.now += 2.0
    assert "http://a" in book.order()  # capped at max_backoff_s
    book.succeeded("http://a")
    book.failed("http://a")
    clock.now += 0.4
    assert book.order() == ["http://b"]
    clock.now += 0.1
    assert book.order() == ["http://a", "http://b"]  # an answer reset the back-off to 0.5 s


def test_with_every_address_backing_off_the_first_to_recover_is_tried():
    clock = Clock()
    book = Addresses("router", ["http://a", "http://b"], clock=clock)
    book.failed("http://a")
    book.failed("http://a")
    book.failed("http://b")
    assert book.order() == ["http://b"]


async def test_first_answer_moves_on_and_keeps_the_address_that_answered():
    book = Addresses("ledger", ["http://a", "http://b", "http://c"])
    calls: list[str] = []

    async def call(url: str) -> str:
        calls.append(url)
        if url == "http://a":
            raise ConnectionRefusedError(url)
        return url

    assert await first_answer(book, call) == "http://b"
    assert await first_answer(book, call) == "http://b"
    assert calls == ["http://a", "http://b", "http://b"] and book.current == "http://b"


async def test_first_answer_raises_the_last_error_when_none_answers_and_passes_other_errors():
    book = Addresses("ledger", ["http://a", "http://b"])

    async def down(url: str) -> str:
        raise ConnectionRefusedError(url)

    with pytest.raises(ConnectionRefusedError, match="http://b"):
        await first_answer(book, down, (OSError,))

    async def wrong(url: str) -> str:
        raise KeyError(url)

    fresh = Addresses("ledger", ["http://a", "http://b"])
    with pytest.raises(KeyError):
        await first_answer(fresh, wrong, (OSError,))
    assert fresh.order() == ["http://a", "http://b"]  # an answer, not a failure of the address


def test_an_address_down_for_thousands_of_failures_keeps_the_capped_back_off():
    """One failure per request: a ledger down for a minute under load fails thousands of times; the
    back-off stays at its cap (2 ** 1024 as a float overflowed, and every request got a 500)."""
    clock = Clock()
    book = Addresses("ledger", ["http://a", "http://b"], backoff_s=0.5, max_backoff_s=5.0, clock=clock)
    for _ in range(5000):
        book.failed("http://a")
    assert book.order() == ["http://b"]
    clock.now += 4.99
    assert book.order() == ["http://b"]
    clock.now += 0.01
    assert book.order() == ["http://a", "http://b"]
