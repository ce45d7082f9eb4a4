"""The ledger's alert loop, off every request path: evaluates the rules every `alert_interval_s`,
queues each day's summary once, turns budget threshold events into notifications, and delivers
what is due. `tick()` does one round at the clock's instant (tests drive it with a frozen clock);
`start()` runs rounds in the background (every `alert_poll_s`), woken at once by a budget event. Of several replicas on
one PostgreSQL database, one evaluates each round (`exclusive_round`: an advisory lock and a
round mark in `meta`); the others skip it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import httpx
import orjson
import structlog

from services.common.errors import InvalidRequest
from services.common.settings import Settings
from services.common.tasks import BackgroundLoop
from services.ledger.alerts.channels import Channel, stored_channel
from services.ledger.alerts.counters import AlertCounters
from services.ledger.alerts.delivery import RetryPolicy, deliver_due
from services.ledger.alerts.evaluate import Evaluation, Publish, evaluate
from services.ledger.alerts.payloads import BUDGET_THRESHOLD, budget_payload, budget_subject, deliveries
from services.ledger.alerts.rules import AlertRule, stored_rule
from services.ledger.alerts.source import MetricSource, SeriesMetrics
from services.ledger.alerts.summary import due_day, queue_summary
from services.ledger.budgets.levels import THRESHOLDS
from services.ledger.budgets.model import BudgetKey, ThresholdEvent
from services.ledger.context import LedgerContext
from services.ledger.events.kinds import ALERT
from services.ledger.store.alerts import AlertStore

US_PER_S = 1_000_000
ROUND = "alert_round"  # the periodic work's name: its advisory lock and its mark in `meta`
SWEEP_US = 86_400 * US_PER_S  # how far back each round looks for budget events not yet queued
log = structlog.get_logger("tollway.ledger.alerts")


class AlertRunner:
    def __init__(self, ctx: LedgerContext, *, source: MetricSource | None = None,
                 publish: Publish | None = None) -> None:
        self.ctx = ctx
        self.settings: Settings = ctx.settings
        self.store = AlertStore(ctx.store)
        self.source = source or SeriesMetrics(ctx.store, ctx.now_us, self.settings.retention_minute_days)
        self.publish = publish or self._to_event_stream
        self.counters = AlertCounters(ctx.metrics.service.registry)
        self.policy = RetryPolicy(attempts=self.settings.alert_delivery_attempts,
                                  base_s=self.settings.alert_retry_base_s, cap_s=self.settings.alert_retry_cap_s,
                                  timeout_s=self.settings.alert_delivery_timeout_s)
        self.next_evaluation_us = 0
        self.summarised: datetime | None = None
        self._budget_events: list[ThresholdEvent] = []
        self.loop = BackgroundLoop("ledger-alerts", self.tick, lambda: self.settings.alert_poll_s,
                                   failed_event="alert_round_failed", logger=log)
        self.http = httpx.AsyncClient()

    def _to_event_stream(self, kind: str, payload: dict[str, Any]) -> None:
        """Firing and resolved alerts on GET /events (kind `alert`, admin readers only), and counted."""
        self.ctx.events.publish(ALERT, payload)
        self.counters.alert(kind, payload)

    # -- what the rest of the ledger calls -------------------------------------------------------

    def budget_events(self, events: Iterable[ThresholdEvent]) -> None:
        """The budget threshold hook (services/ledger/budgets/alerts.py): queued here, sent by the
        loop, so the request that raised them does not wait."""
        self._budget_events.extend(events)
        self.loop.wake()

    def wake(self) -> None:
        """Run a round now (a delivery was put back in the queue)."""
        self.loop.wake()

    async def rules(self) -> tuple[list[AlertRule], frozenset[str]]:
        """The stored rules, and the ids of any that can no longer be read (logged, left out)."""
        rules, unreadable = [], set()
        for rule_id, spec, _ in await self.store.rules():
            try:
                rules.append(stored_rule(spec))
            except InvalidRequest as exc:
                log.error("alert_rule_unreadable", rule_id=rule_id, error=exc.message)
                unreadable.add(rule_id)
        return rules, frozenset(unreadable)

    async def channels(self) -> dict[str, Channel]:
        """The stored channels (one that can no longer be read is logged and left out)."""
        out = {}
        for channel_id, spec, _ in await self.store.channels():
            try:
                out[channel_id] = stored_channel(spec)
            except InvalidRequest as exc:
                log.error("alert_channel_unreadable", channel_id=channel_id, error=exc.message)
        return out

    async def evaluate_now(self) -> Evaluation:
        now = self.ctx.now_us()
        rules, unreadable = await self.rules()
        result = await evaluate(self.store, self.source, self.ctx.store, rules, await self.channels(), now,
                                self.settings.alert_anomaly_days, self.publish, unreadable)
        self.next_evaluation_us = now + int(self.settings.alert_interval_s * US_PER_S)
        return result

    async def tick(self) -> None:
        now = self.ctx.now_us()
        channels = await self.channels()
        if now >= self.next_evaluation_us:
            await self._evaluation_round(now)
            await self._sweep_budget_events(channels, now)
        await self._queue_budget_events(channels, now)
        day = due_day(now, self.settings.alert_summary_hour)
        if day != self.summarised:
            await queue_summary(self.store, self.source, channels, day, now)
            self.summarised = day
        await deliver_due(self.store, channels, now, self.http, self.policy, self.counters)

    async def _evaluation_round(self, now_us: int) -> None:
        """Evaluate, unless another replica has this round (rounds are `alert_interval_s` apart on
        the clock: round `now // interval`); either way the next is due an interval on."""
        interval_us = max(int(self.settings.alert_interval_s * US_PER_S), 1)
        async with self.ctx.store.exclusive_round(ROUND, now_us // interval_us) as mine:
            if mine:
                await self.evaluate_now()
            else:
                self.next_evaluation_us = now_us + interval_us
        self.counters.rounds.labels("evaluated" if mine else "skipped").inc()

    async def _queue_budget_events(self, channels: dict[str, Channel], now_us: int) -> None:
        events, self._budget_events = self._budget_events, []
        targets = [c for c in channels.values() if c.wants("budget")]
        try:
            for event in events:
                await self.store.enqueue(deliveries(targets, BUDGET_THRESHOLD, budget_subject(event),
                                                    budget_payload(event), now_us))
        except BaseException:  # kept for the next round (queueing one twice is a no-op)
            self._budget_events[:0] = events
            raise

    async def _sweep_budget_events(self, channels: dict[str, Channel], now_us: int) -> None:
        """Each evaluation round: every budget event of the last day is queued to each budget
        channel that existed when it was raised, unless it is already (a no-op): what the in-memory
        hand-off lost (the ledger stopped in between, or another replica raised it) is sent anyway."""
        created = {cid: at for cid, _, at in await self.store.channels()}
        targets = [c for c in channels.values() if c.wants("budget")]
        if not targets:
            return
        for scope, scope_id, threshold, at_us, spent, budget, period_us, levels in \
                await self.store.budget_events_since(now_us - SWEEP_US):
            event = ThresholdEvent(BudgetKey(scope, scope_id), threshold, at_us, spent, budget, period_us,
                                   tuple(orjson.loads(levels)) if levels else THRESHOLDS)
            told = [c for c in targets if created.get(c.channel_id, now_us) <= at_us]
            await self.store.enqueue(deliveries(told, BUDGET_THRESHOLD, budget_subject(event), budget_payload(event),
                                                now_us))

    # -- the background loop ---------------------------------------------------------------------

    def start(self) -> None:
        self.loop.start()

    async def stop(self) -> None:
        await self.loop.stop()
        await self.http.aclose()
