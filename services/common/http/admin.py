"""The admin key: one pure-ASGI guard in front of every service's management endpoints.

Each service says which (method, path) pairs are management with an `AdminRule`. The key comes as
`Authorization: Bearer <key>` or `X-Admin-Key: <key>`; missing → 401, wrong → 403 (compared in
constant time). With no admin key configured the endpoints are open and the service says so in
its log at start. The services send the same key to each other (`service_headers`).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

import structlog
from starlette.requests import Request

from services.common.errors import Forbidden, TollwayError, Unauthorized, response_for
from services.common.settings import Settings

AdminRule = Callable[[str, str], bool]  # (method, path) -> is a management endpoint

log = structlog.get_logger("tollway.admin")

READS = frozenset({"GET", "HEAD", "OPTIONS"})


def writes_are_management(method: str, path: str) -> bool:
    return method not in READS


def bearer_token(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value; None for any other scheme."""
    scheme, _, token = authorization.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def presented_key(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The credential a request carries: `X-Admin-Key`, else a bearer token."""
    bearer = None
    for name, value in headers:
        if name == b"x-admin-key":
            return value.decode("latin-1").strip()
        if name == b"authorization":
            bearer = bearer_token(value.decode("latin-1")) or bearer
    return bearer


def is_admin(presented: str | None, admin_key: str) -> bool:
    return bool(admin_key) and presented is not None and hmac.compare_digest(
        presented.encode("utf-8"), admin_key.encode("utf-8"))


def check_admin(presented: str | None, admin_key: str) -> None:
    """Raise 401/403 unless `presented` is the admin key (or no admin key is configured)."""
    if not admin_key:
        return
    if presented is None:
        raise Unauthorized("this endpoint needs the admin key: send Authorization: Bearer <key> "
                           "or X-Admin-Key: <key>")
    if not is_admin(presented, admin_key):
        raise Forbidden("the key sent is not the admin key")


def service_headers(settings: Settings) -> dict[str, str]:
    """What one Tollway service sends another: the admin key, when there is one."""
    key = settings.admin_key.get_secret_value()
    return {"authorization": f"Bearer {key}"} if key else {}


class AdminGuard:
    def __init__(self, app: Any, *, service: str, admin_key: str, rule: AdminRule) -> None:
        self.app = app
        self.admin_key = admin_key
        self.rule = rule
        if not admin_key:
            log.warning("admin_key_not_set", service=service,
                        message="management endpoints are open; set TOLLWAY_ADMIN_KEY")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self.admin_key and scope["type"] == "http" and self.rule(scope["method"], scope["path"]):
            try:
                check_admin(presented_key(scope["headers"]), self.admin_key)
            except TollwayError as exc:
                await response_for(Request(scope), exc)(scope, receive, send)
                return
        await self.app(scope, receive, send)
