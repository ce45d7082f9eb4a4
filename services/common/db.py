"""Database URLs: which backend a `TOLLWAY_DATABASE_URL` names, and the URL fit to show (its
password masked) in a log line or an error. A URL with a password is never shown otherwise."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

POSTGRES_SCHEMES = ("postgresql", "postgres")


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or used at start; the message names the masked URL."""


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
