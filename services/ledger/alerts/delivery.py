"""The delivery queue: every pending notification that is due is claimed (so that no other worker,
here or on a replica, sends it at the same time), sent, and its attempt recorded. A failure is
retried after base x 2^(n-1) seconds (capped) until the attempts run out; then the delivery is
`failed`, visible at GET /alerts/deliveries?status=failed and retried by hand with
POST /alerts/deliveries/{id}/retry. The alert itself is never lost with it."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
import structlog

from services.ledger.alerts.channels import Channel
from services.ledger.alerts.counters import DELIVERED, FAILED, RETRYING, AlertCounters
from services.ledger.alerts.model import Delivery
from services.ledger.alerts.senders import DeliveryFailed, scrubbed, send
from services.ledger.store.alerts import AlertStore

US_PER_S = 1_000_000
log = structlog.get_logger("tollway.ledger.alerts")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int
    base_s: float
    cap_s: float
    timeout_s: float

    def backoff_s(self, attempt: int) -> float:
        """How long after failed attempt number `attempt` (1, 2, ...) the next one is due."""
        return min(self.cap_s, self.base_s * 2 ** (attempt - 1))


async def _attempt(store: AlertStore, delivery: Delivery, channel: Channel | None, now_us: int,
                   http: httpx.AsyncClient, policy: RetryPolicy, counters: AlertCounters | None) -> bool:
    attempt = delivery.attempts + 1
    if channel is None:
        error: str | None = f"channel {delivery.channel_id} no longer exists"
        attempt = policy.attempts  # nothing to retry against
    else:
        try:
            await send(channel, delivery.payload, delivery.delivery_id, now_us // US_PER_S, http, policy.timeout_s)
            error = None
        except DeliveryFailed as exc:
            error = str(exc)
        except Exception as exc:  # anything else a sender raised is this attempt's failure too
            error = scrubbed(exc, channel)
    next_us = None if error is None or attempt >= policy.attempts else \
        now_us + int(policy.backoff_s(attempt) * US_PER_S)
    await store.record_attempt(delivery.delivery_id, now_us, error, next_us)
    if counters is not None:
        counters.attempt(channel.kind if channel else "deleted",
                         DELIVERED if error is None else (RETRYING if next_us is not None else FAILED))
    if error is not None:
        log.warning("alert_delivery_failed", delivery_id=delivery.delivery_id, channel_id=delivery.channel_id,
                    kind=delivery.kind, attempt=attempt, error=error, final=next_us is None)
    return error is None


async def deliver_due(store: AlertStore, channels: Mapping[str, Channel], now_us: int, http: httpx.AsyncClient,
                      policy: RetryPolicy, counters: AlertCounters | None = None) -> int:
    """Send what is due at `now_us`, at once; how many were delivered."""
    if not await store.any_due(now_us):
        return 0
    lease_us = int((policy.timeout_s * 2 + 30) * US_PER_S)
    due = await store.claim_due(now_us, lease_us)
    sent = await asyncio.gather(*(_attempt(store, d, channels.get(d.channel_id), now_us, http, policy, counters)
                                  for d in due))
    return sum(sent)
