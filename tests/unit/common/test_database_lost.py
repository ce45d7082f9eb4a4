"""The database lost while a service runs: the driver's connection errors become one 503 naming the
URL with its password masked (other errors pass), and the log says so once, then at most every few
seconds with a count of what it left out."""

from __future__ import annotations

import asyncpg
import pytest
from structlog.testing import capture_logs

from services.common.db import DatabaseLost, database_lost
from services.common.loss_log import LossLog

URL = "postgresql://tollway:pw-9f3k@db.internal:5432/book?search_path=t"


@pytest.mark.parametrize("error", [ConnectionRefusedError(111, "refused"), TimeoutError(),
                                   asyncpg.exceptions.ConnectionDoesNotExistError("closed mid-query"),
                                   asyncpg.exceptions.AdminShutdownError("terminating connection: pw-9f3k"),
                                   asyncpg.exceptions.CannotConnectNowError("starting up")])
def test_a_lost_connection_is_a_503_naming_the_masked_url(error: Exception):
    with pytest.raises(DatabaseLost) as lost, database_lost(URL, "ledger"):
        raise error
    assert lost.value.status == 503 and lost.value.headers == {"retry-after": "2"}
    body = str(lost.value.body())
    assert "postgresql://tollway:***@db.internal:5432/book" in body and "pw-9f3k" not in body
    assert lost.value.type == "database_unavailable"


def test_other_errors_pass_unchanged():
    with pytest.raises(asyncpg.exceptions.UniqueViolationError), database_lost(URL, "router"):
        raise asyncpg.exceptions.UniqueViolationError("duplicate key")
    with pytest.raises(KeyError), database_lost(URL, "router"):
        raise KeyError("x")


def test_an_outage_is_logged_once_then_every_few_seconds_with_a_count():
    now = [100.0]
    book = LossLog(clock=lambda: now[0])
    with capture_logs() as logs:
        for i in range(1000):
            now[0] = 100.0 + i * 0.012  # 1,000 failures over 12 s: lines at 0, 5 and 10 s
            book.failed(service="ledger")
    assert [x["event"] for x in logs] == ["database_unavailable"] * 3
    assert logs[0]["suppressed"] == 0 and logs[1]["suppressed"] > 0
    assert len(logs) + sum(x["suppressed"] for x in logs) + book.suppressed == 1000


def test_once_the_database_answers_the_next_failure_is_logged_at_once():
    now = [100.0]
    book = LossLog("replica_listener_lost", clock=lambda: now[0])
    with capture_logs() as logs:
        book.failed()
        now[0] += 1
        book.failed()  # within 5 s: counted
        book.reached()
        now[0] += 1
        book.failed()
    assert [x["event"] for x in logs] == ["replica_listener_lost"] * 2
    assert [x["suppressed"] for x in logs] == [0, 0]
