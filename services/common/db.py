"""Database URLs: which backend a `TOLLWAY_DATABASE_URL` names, and the URL fit to show (its
password masked) in a log line or an error. A URL with a password is never shown otherwise."""

from __future__ import annotations

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
