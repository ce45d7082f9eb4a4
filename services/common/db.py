"""Database URLs: which backend a `TOLLWAY_DATABASE_URL` names, and the URL fit to show (its
password masked) in a log line or an error. A URL with a password is never shown otherwise.
And the database lost while a service runs: `database_lost` turns the driver's connection errors
into one 503 (`DatabaseLost`) naming the masked URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import structlog

from services.common.errors import DependencyUnavailable
from services.common.loss_log import LossLog

POSTGRES_SCHEMES = ("postgresql", "postgres")
RETRY_AFTER_S = 2
log = structlog.get_logger("tollway.db")


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or used at start; the message names the masked URL."""


class DatabaseLost(DependencyUnavailable):
    """The database went away while the service runs: the call was not done (or not confirmed:
    a commit whose answer was lost); try again shortly."""

    type = "database_unavailable"


def scheme(url: str) -> str:
    return url.partition(":")[0].lower()


def is_postgres(url: str) -> bool:
    return scheme(url) in POSTGRES_SCHEMES


def mask_url(url: str) -> str:
    """`url` with any password replaced by `***` (and nothing else changed)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return f"{scheme(url)}://***"  # unparsable: show only what it claims to be
    if not password and "@" not in parts.netloc:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{user}:***@{host}" if password else f"{user}@{host}"
    masked = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return masked if not password or password not in masked else f"{scheme(url)}://***"


def scrub(text: str, url: str) -> str:
    """`text` (a driver's error message) with the URL's password, should it appear, masked."""
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    return text.replace(password, "***") if password else text


async def open_pool(url: str, service: str, *, min_size: int = 1, max_size: int = 8,
                    connect_timeout_s: float = 5.0) -> Any:
    """An asyncpg pool on `url`; unreachable (or refused), a `DatabaseUnavailable` naming the URL
    with its password masked."""
    import asyncpg

    try:
        return await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, timeout=connect_timeout_s,
                                         command_timeout=60)
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
        raise DatabaseUnavailable(f"the {service} cannot reach PostgreSQL at {mask_url(url)}:"
                                  f" {type(exc).__name__}: {scrub(str(exc), url)}") from None


def _connection_errors() -> tuple[type[BaseException], ...]:
    """What asyncpg raises when the server cannot be reached or the connection dies: refused or
    reset sockets, timeouts, class 08 (connection exception), class 57 (the server shutting down,
    crashed, not accepting connections yet), a connection closed under a query."""
    import asyncpg

    return (OSError, TimeoutError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
            asyncpg.exceptions.OperatorInterventionError)


_loss_logs: dict[tuple[str, str], LossLog] = {}


@contextmanager
def database_lost(url: str, service: str) -> Iterator[None]:
    """Inside: a lost connection to `url` is a `DatabaseLost` (503, Retry-After) naming the URL with
    its password masked; every other error passes unchanged."""
    try:
        yield
    except _connection_errors() as exc:
        detail = scrub(f"{type(exc).__name__}: {exc}", url)
        book = _loss_logs.setdefault((service, url), LossLog(logger=log))
        book.failed(service=service, url=mask_url(url), error=detail)
        raise DatabaseLost(f"the {service} cannot reach its database ({mask_url(url)}) now; try again shortly"
                           f" ({detail})", headers={"retry-after": str(RETRY_AFTER_S)}) from None
