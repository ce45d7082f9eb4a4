"""Proxies from the environment, read as urllib and httpx read them: HTTP_PROXY for http:// targets,
HTTPS_PROXY for https:// ones (a lower-case variable wins over its upper-case one), NO_PROXY for
the hosts reached directly. Read once, when the pool is made; the route of each origin is kept.

Only http:// proxies are spoken to (a CONNECT tunnel carries TLS to an https target); a proxy URL
of another scheme fails each connect through it, naming the scheme. Credentials in a proxy URL
(`http://user:pass@proxy:3128`) become a Proxy-Authorization header and are never shown.
"""

from __future__ import annotations

import base64
import urllib.request
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from services.gateway.forwarding.http1.head import Origin


@dataclass(frozen=True, slots=True)
class Proxy:
    host: str
    port: int
    authorization: bytes = b""  # the Proxy-Authorization value (Basic), from the URL's userinfo
    problem: str = ""  # why it cannot be used; a connect through it fails with this

    @property
    def shown(self) -> str:
        """The proxy as messages name it: host and port, never its credentials."""
        return f"{self.host}:{self.port}"


def parse_proxy(url: str, variable: str) -> Proxy:
    parts = urlsplit(url if "://" in url else "http://" + url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    try:
        port = parts.port or 80
    except ValueError:
        return Proxy(host, 0, problem=f"{variable} has a bad port")
    if scheme != "http":
        return Proxy(host, port, problem=f"{variable} is a {scheme}:// proxy; only http:// proxies are supported")
    if not host:
        return Proxy(host, port, problem=f"{variable} names no host")
    authorization = b""
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        authorization = b"Basic " + base64.b64encode(pair)
    return Proxy(host, port, authorization)


class Proxies:
    def __init__(self, environment: dict[str, str]) -> None:
        self._environment = environment  # as urllib.request.getproxies_environment() gives it
        self._by_scheme = {scheme: parse_proxy(environment[scheme], f"{scheme}_proxy")
                           for scheme in ("http", "https") if environment.get(scheme)}
        self._routes: dict[Origin, Proxy | None] = {}

    @classmethod
    def from_environment(cls) -> Proxies | None:
        """The environment's proxies; None when it names none for http or https."""
        environment = urllib.request.getproxies_environment()
        return cls(environment) if environment.get("http") or environment.get("https") else None

    def route(self, origin: Origin) -> Proxy | None:
        """The proxy to reach `origin` through, or None to connect to it directly."""
        try:
            return self._routes[origin]
        except KeyError:
            proxy = self._by_scheme.get(origin.scheme)
            bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]  # not in typeshed
            if proxy is not None and bypass(origin.host, self._environment):
                proxy = None
            self._routes[origin] = proxy
            return proxy
