"""The daily summary: for each UTC day, once, at `summary_hour` (UTC) of the next day, one message
per channel that takes summaries: the day's spend, requests and errors, alerts fired and resolved
that day, alerts open now, deliveries that failed that day. Queued once per (channel, day) whatever
the number of evaluations or ledgers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from services.ledger.alerts.channels import Channel
from services.ledger.alerts.payloads import DAILY_SUMMARY, deliveries, summary_payload
from services.ledger.alerts.source import MetricSource
from services.ledger.store.alerts import AlertStore
from services.ledger.times import from_us, to_us


def due_day(now_us: int, summary_hour: int) -> datetime:
    """The start (UTC midnight) of the latest day whose summary is due at `now_us`."""
    shifted = from_us(now_us) - timedelta(hours=summary_hour)
    return datetime(shifted.year, shifted.month, shifted.day, tzinfo=UTC) - timedelta(days=1)


async def queue_summary(store: AlertStore, source: MetricSource, channels: Mapping[str, Channel],
                        day: datetime, now_us: int) -> int:
    """Queue `day`'s summary to every channel that takes summaries; how many were new."""
    targets = [c for c in channels.values() if c.wants("summary")]
    if not targets:
        return 0
    first, last = to_us(day), to_us(day + timedelta(days=1))
    stats = await source.stats({}, first, last)
    counts = await store.alert_counts(first, last)
    label = day.date().isoformat()
    payload = summary_payload(label, stats.cost_micros, stats.requests, stats.errors, counts, now_us)
    return await store.enqueue(deliveries(targets, DAILY_SUMMARY, label, payload, now_us))
