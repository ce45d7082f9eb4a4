"""A notification channel: a generic webhook (signed), a Slack incoming webhook, or email over
SMTP. Its secrets are kept for sending and shown only masked (`public`)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from services.common import contracts, jsonio
from services.common.errors import InvalidRequest

WEBHOOK, SLACK, EMAIL = "webhook", "slack", "email"
EVENTS = ("alerts", "budget", "summary")
MASK = "****"


@dataclass(frozen=True)
class Channel:
    channel_id: str
    kind: str
    name: str
    events: tuple[str, ...] = EVENTS
    url: str | None = None
    secret: str | None = None  # webhook: the HMAC key
    smtp: dict[str, Any] = field(default_factory=dict)

    def wants(self, event: str) -> bool:
        return event in self.events

    def spec(self) -> dict[str, Any]:
        """Everything, secrets included: what is stored."""
        out: dict[str, Any] = {"channel_id": self.channel_id, "kind": self.kind, "name": self.name,
                               "events": list(self.events)}
        for name in ("url", "secret"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.smtp:
            out["smtp"] = self.smtp
        return out

    def public(self) -> dict[str, Any]:
        """What the API shows: no secret, a Slack URL without its token path, no SMTP password."""
        out = self.spec()
        if self.secret is not None:
            out["secret"] = masked(self.secret)
        if self.kind == SLACK and self.url:
            parts = urlsplit(self.url)
            out["url"] = f"{parts.scheme}://{parts.netloc}/{MASK}"
        elif self.url:
            out["url"] = _without_credentials(self.url)
        if self.smtp.get("password"):
            out["smtp"] = {**self.smtp, "password": MASK}
        return out


def masked(secret: str) -> str:
    """The last four characters of a long secret, nothing of a short one."""
    return MASK + secret[-4:] if len(secret) >= 20 else MASK


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    return parts._replace(netloc=f"{MASK}@{host}" + (f":{parts.port}" if parts.port else "")).geturl()


def parse_channel(data: dict[str, Any], channel_id: str | None = None) -> Channel:
    contracts.validate("alert_channel", data)
    if channel_id is not None and data.get("channel_id", channel_id) != channel_id:
        raise InvalidRequest(f"channel_id {data['channel_id']} is not the path's {channel_id}", field="channel_id")
    kind = data["kind"]
    needs = {WEBHOOK: ("url", "secret"), SLACK: ("url",), EMAIL: ("smtp",)}[kind]
    for name in needs:
        if name not in data:
            raise InvalidRequest(f"a {kind} channel needs {name}", field=name)
    for name in {"url", "secret", "smtp"} - set(needs):
        if name in data:
            raise InvalidRequest(f"a {kind} channel takes no {name}", field=name)
    if "url" in data:
        _check_url(data["url"])
    cid = channel_id or data.get("channel_id") or f"ch_{secrets.token_hex(6)}"
    return Channel(channel_id=cid, kind=kind, name=data.get("name", cid),
                   events=tuple(data.get("events", EVENTS)), url=data.get("url"),
                   secret=data.get("secret"), smtp=dict(data.get("smtp") or {}))


def _check_url(url: str) -> None:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise InvalidRequest(f"url is not a URL: {exc}", field="url") from None
    if not parsed.host:
        raise InvalidRequest("url has no host", field="url")


def stored_channel(spec: str) -> Channel:
    return parse_channel(jsonio.loads(spec))
