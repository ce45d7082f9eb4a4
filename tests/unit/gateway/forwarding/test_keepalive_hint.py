"""Reading a server's `Keep-Alive: timeout=N` hint (connection.py) and what the pool keeps from it."""

from __future__ import annotations

import pytest

from services.gateway.forwarding.http1.connection import keepalive_timeout
from services.gateway.forwarding.http1.pool import MAX_KEEPALIVE_S, _Origin


@pytest.mark.parametrize(("header", "seconds"), [
    ("timeout=5", 5.0), ("timeout=120", 120.0), ("max=100, timeout=2", 2.0), (" Timeout = 7 ", 7.0),
    ("timeout=0.5", 0.5), ("max=100", None), ("timeout=", None), ("timeout=abc", None), ("timeout=0", None),
    ("timeout=-3", None), ("timeout=inf", None), ("timeout=nan", None), ("", None),
])
def test_the_timeout_is_read_and_anything_else_is_no_hint(header, seconds):
    assert keepalive_timeout(header) == seconds


@pytest.mark.parametrize(("hint", "kept"), [(5.0, 4.0), (120.0, 119.0), (2.0, 1.0), (1.0, 0.5), (0.2, 0.1),
                                            (100_000.0, MAX_KEEPALIVE_S)])
def test_the_pool_retires_a_connection_before_the_server_would(hint, kept):
    origin = _Origin(4.0)
    origin.heed(hint)
    assert origin.keepalive_s == pytest.approx(kept) and origin.keepalive_s < hint
