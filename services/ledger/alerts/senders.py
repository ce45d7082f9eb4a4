"""Sending one notification on one channel: a signed JSON POST (webhook), Slack's incoming-webhook
format, or an email over SMTP (aiosmtplib; STARTTLS whenever the server offers it). Any failure is
a `DeliveryFailed` whose message never holds a secret (a Slack URL is one)."""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx
import orjson

from services.ledger.alerts.channels import EMAIL, SLACK, WEBHOOK, Channel
from services.ledger.alerts.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign


class DeliveryFailed(Exception):
    """One attempt failed; the message says why (no secrets)."""


def scrubbed(exc: BaseException, channel: Channel) -> str:
    text = f"{type(exc).__name__}: {exc}"
    for secret in (channel.url, channel.secret, channel.smtp.get("password")):
        if secret:
            text = text.replace(secret, "****")
    return text[:500]


async def _post(http: httpx.AsyncClient, channel: Channel, body: bytes, headers: dict[str, str],
                timeout_s: float) -> None:
    assert channel.url is not None
    try:
        resp = await http.post(channel.url, content=body, headers={"content-type": "application/json", **headers},
                               timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise DeliveryFailed(scrubbed(exc, channel)) from None
    if not 200 <= resp.status_code < 300:
        raise DeliveryFailed(f"HTTP {resp.status_code} from the receiver")


def slack_body(payload: dict[str, Any]) -> bytes:
    return orjson.dumps({"text": payload["text"],
                         "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": payload["text"]}}]})


def email_message(channel: Channel, payload: dict[str, Any]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = channel.smtp["sender"]
    message["To"] = ", ".join(channel.smtp["recipients"])
    message["Subject"] = f"Tollway: {payload['text'][:150]}"
    message.set_content(payload["text"] + "\n\n" + orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode())
    return message


async def _email(channel: Channel, payload: dict[str, Any], timeout_s: float) -> None:
    smtp = channel.smtp
    tls = smtp.get("tls", "starttls")
    context = ssl.create_default_context()
    if smtp.get("ca_file"):
        context.load_verify_locations(cafile=smtp["ca_file"])
    try:
        await aiosmtplib.send(email_message(channel, payload), hostname=smtp["host"],
                              port=smtp.get("port", 465 if tls == "implicit" else 25),
                              username=smtp.get("username"), password=smtp.get("password"),
                              use_tls=tls == "implicit", start_tls=None if tls == "starttls" else False,
                              tls_context=context, timeout=timeout_s)
    except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise DeliveryFailed(scrubbed(exc, channel)) from None


async def send(channel: Channel, payload_json: str, delivery_id: str, now_s: int, http: httpx.AsyncClient,
               timeout_s: float) -> None:
    payload = orjson.loads(payload_json)
    if channel.kind == WEBHOOK:
        assert channel.secret is not None
        body = payload_json.encode()
        await _post(http, channel, body, {TIMESTAMP_HEADER: str(now_s), "X-Tollway-Delivery": delivery_id,
                                          SIGNATURE_HEADER: sign(channel.secret, now_s, body)}, timeout_s)
    elif channel.kind == SLACK:
        await _post(http, channel, slack_body(payload), {}, timeout_s)
    else:
        assert channel.kind == EMAIL
        await _email(channel, payload, timeout_s)
