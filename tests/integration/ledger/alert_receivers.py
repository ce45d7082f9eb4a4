"""Real receivers for alert notifications: an HTTP server (webhook and Slack payloads; it can be
told to fail its first N requests) and an SMTP server (aiosmtpd), both on free local ports."""

from __future__ import annotations

import socket
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.integration.gateway.aiohttp_server import serving


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpReceiver:
    port: int = 0
    got: list[Received] = field(default_factory=list)
    fail_first: int = 0  # answer 500 to this many requests first
    calls: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def on(self, path: str) -> list[Received]:
        return [r for r in self.got if r.path == path]


@asynccontextmanager
async def http_receiver(fail_first: int = 0) -> AsyncIterator[HttpReceiver]:
    receiver = HttpReceiver(fail_first=fail_first)

    async def handle(request: web.Request) -> web.Response:
        receiver.calls += 1
        if receiver.calls <= receiver.fail_first:
            return web.Response(status=500, text="down for a moment")
        receiver.got.append(Received(request.path, dict(request.headers), await request.read()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    async with serving(app) as port:
        receiver.port = port
        yield receiver


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.messages.append(envelope)
        return "250 OK"


def _password(user: str, password: str) -> Callable[..., AuthResult]:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            user.encode(), password.encode())
        return AuthResult(success=ok)

    return check


@contextmanager
def smtp_receiver(tls: ssl.SSLContext | None = None, login: tuple[str, str] | None = None
                  ) -> Iterator[tuple[int, list[Any]]]:
    """(port, the envelopes received) of a real SMTP server; with `tls` it offers STARTTLS and
    requires it before anything is sent, with `login` it requires that user and password (after TLS)."""
    inbox = _Inbox()
    options: dict[str, Any] = {}
    if tls is not None:
        options.update(tls_context=tls, require_starttls=True)
    if login is not None:
        options.update(authenticator=_password(*login), auth_required=True, auth_require_tls=True)
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    try:
        yield controller.port, inbox.messages
    finally:
        controller.stop()


def free_port() -> int:
    """A port nothing listens on (for an unreachable receiver too)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
