"""An upstream request's first bytes: the request line and headers, written once as bytes.

The URL is split once per distinct URL (cached); header names and values that would break the
request (line breaks, NUL) are refused with the header's name only, since values may be keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, urlsplit

from services.gateway.forwarding.http1.errors import BadRequestHead

# what the gateway writes itself; a caller's own value for these is dropped
OWN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection", "accept-encoding",
                         "keep-alive", "te", "upgrade", "proxy-authorization"})
_FORBIDDEN = ("\r", "\n", "\0")


@dataclass(frozen=True, slots=True)
class Origin:
    scheme: str  # http | https
    host: str  # as for connecting: no brackets around an IPv6 address
    port: int

    @property
    def tls(self) -> bool:
        return self.scheme == "https"


@dataclass(frozen=True, slots=True)
class Target:
    origin: Origin
    host_header: bytes  # host[:port] as the Host header carries it
    path: bytes  # path and query, percent-encoded


@lru_cache(maxsize=4096)
def target_of(url: str) -> Target:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise BadRequestHead(f"upstream URL scheme must be http or https, not {scheme or 'none'!r}")
    if parts.username is not None or parts.password is not None:
        raise BadRequestHead("credentials in the upstream URL are not supported: register an api_key_env")
    host = parts.hostname
    if not host:
        raise BadRequestHead("upstream URL has no host")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise BadRequestHead(f"upstream URL has a bad port: {exc}") from None
    default_port = port == (443 if scheme == "https" else 80)
    shown = f"[{host}]" if ":" in host else host.encode("idna").decode("ascii")
    host_header = shown if default_port else f"{shown}:{port}"
    path = quote(parts.path or "/", safe="/:@!$&'()*+,;=-._~%")
    if parts.query:
        path += "?" + quote(parts.query, safe="/:@!$&'()*+,;=-._~%?")
    return Target(Origin(scheme, host, port), host_header.encode("ascii"), path.encode("ascii"))


def request_head(method: str, target: Target, headers: dict[str, str], body_length: int, *,
                 absolute: bool = False, proxy_authorization: bytes = b"") -> bytes:
    """`METHOD path HTTP/1.1`, Host, the caller's headers, Content-Length, and identity encoding
    (the gateway streams answers through as they come: no compression to undo). `absolute`: the
    request line names the whole URL, as a proxy needs it, with `proxy_authorization` if given."""
    request_target = target.path
    if absolute:
        request_target = target.origin.scheme.encode("ascii") + b"://" + target.host_header + target.path
    lines = [f"{method} ".encode("ascii") + request_target + b" HTTP/1.1\r\nHost: " + target.host_header]
    if proxy_authorization:
        lines.append(b"Proxy-Authorization: " + proxy_authorization)
    for name, value in headers.items():
        if name.lower() in OWN_HEADERS:
            continue
        if any(c in name for c in _FORBIDDEN) or ":" in name or not name:
            raise BadRequestHead(f"header name {name[:40]!r} is not a valid HTTP header name")
        if any(c in value for c in _FORBIDDEN):
            raise BadRequestHead(f"the value of header {name!r} contains a line break or NUL "
                                 "(a key copied with its newline?)")
        try:
            lines.append(f"{name}: {value}".encode("latin-1"))
        except UnicodeEncodeError:
            raise BadRequestHead(f"the value of header {name!r} is not latin-1 text") from None
    lines.append(b"Content-Length: %d\r\nAccept-Encoding: identity\r\n\r\n" % body_length)
    return b"\r\n".join(lines)
