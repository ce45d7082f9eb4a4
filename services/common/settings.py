"""One settings object for every service, read from `TOLLWAY_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.registry.key_env import DEFAULT_ALLOW


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOLLWAY_", extra="ignore")

    # where runtime data lives (SQLite files, receipts, spool cursors)
    artifacts_dir: Path = Path("artifacts")
    host: str = "127.0.0.1"
    # a service's young-generation GC threshold (CPython's default 700): with everything loaded
    # frozen at start, a young collection walks the objects of requests in flight whatever the
    # threshold, so a higher one means fewer walks for the same garbage (docs/benchmarks.md)
    gc_gen0_threshold: int = Field(default=20_000, ge=100)

    router_port: int = 6103
    gateway_port: int = 6120
    ledger_port: int = 6121
    simulator_port: int = 8100

    # how the services find each other
    router_url: str = "http://127.0.0.1:6103"
    ledger_url: str = "http://127.0.0.1:6121"
    # the `tollway` command line: where it finds the gateway (empty: 127.0.0.1 on gateway_port), and
    # the virtual key it sends (empty: none; the admin key, when set, is sent to management endpoints)
    gateway_url: str = ""
    virtual_key: SecretStr = SecretStr("")

    # storage: empty means SQLite files under artifacts_dir
    database_url: str = ""
    # SQLite (WAL) durability: NORMAL survives a crash or SIGKILL of the process (the OS has every
    # commit); FULL also survives a power cut, at one fsync per commit (~1-3 ms here per hold).
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"

    # access: the admin key guards every management endpoint of the three services (and is what
    # the services send each other); empty leaves them open (development), with a warning at start
    admin_key: SecretStr = SecretStr("")
    require_keys: bool = False  # the client API and ledger reads need a virtual key
    # which environment variables a provider's api_key_env may name: names or `*` patterns, comma-separated
    # (services/common/registry/key_env.py); other TOLLWAY_* names never, whatever this says
    api_key_env_allow: str = DEFAULT_ALLOW

    # gateway: rate limits. rate_limits is a JSON list of limit specs applied to every caller (see
    # services/gateway/limits/spec.py); keys carry their own. Redis makes replicas share limits.
    rate_limits: str = ""
    rate_limit_backend: Literal["memory", "redis"] = "memory"
    redis_url: str = "redis://127.0.0.1:6379/0"
    rate_limit_fail_open: bool = True  # Redis unreachable: admit (and count it) rather than refuse

    # gateway: response cache (services/gateway/cache): deterministic requests (temperature 0) or
    # callers who opt in; semantic matching loads an embedding model at start (the `semantic` extra)
    cache_enabled: bool = True
    cache_store: Literal["memory", "redis"] = "memory"  # redis: shared by replicas (TOLLWAY_REDIS_URL)
    cache_redis_prefix: str = "tollway:cache:"
    cache_max_entries: int = 10_000
    cache_max_bytes: int = 256 * 1024 * 1024
    cache_max_entry_bytes: int = 1024 * 1024
    cache_default_ttl_s: float = 3600.0
    cache_max_ttl_s: float = 7 * 86400.0
    cache_semantic: bool = False
    cache_semantic_threshold: float = 0.60

    # GET /metrics (Prometheus): with an admin key set it needs the key, unless this opens it
    metrics_open: bool = False
    # OpenTelemetry spans over OTLP/HTTP (the `otel` extra; OTEL_EXPORTER_OTLP_ENDPOINT says where)
    otel_enabled: bool = False

    log_level: str = "info"
    access_log: bool = True
    max_body_bytes: int = 4 * 1024 * 1024

    # gateway: upstream calls
    upstream_connect_timeout_s: float = 5.0
    upstream_read_timeout_s: float = 120.0
    upstream_keepalive_s: float = 4.0  # idle connections to providers closed after this (below servers' 5 s)
    upstream_max_connections_per_origin: int = 256  # beyond it a request waits for one to come back
    # the hot path's HTTP client to providers: the gateway's own (http1) or aiohttp's (scripts/bench/upstream_ab.py)
    upstream_client: Literal["http1", "aiohttp"] = "http1"
    max_attempts: int = 3  # the chosen provider plus up to two alternatives
    default_optimization: str = "cost"
    default_run_id: str = "default"
    default_agent: str = "anonymous"

    # gateway: control plane
    snapshot_wait_s: float = 20.0  # long-poll hold time for registry/budget snapshots
    ship_interval_s: float = 0.2  # how often receipts are shipped to the ledger
    longpoll_max_wait_s: float = Field(default=60.0, gt=0)  # the longest a snapshot long-poll is held
    ship_batch_size: int = 2_000  # receipts per POST /receipts at most (and at most max_body_bytes)
    ledger_timeout_s: float = 5.0
    # gateway: budget leases (a slice of a run's budget held for this gateway; see budgets/leases.py)
    lease_requests: int = 50  # a lease grows by this many worst cases at a time
    lease_idle_s: float = 2.0  # a lease unused this long is given back to the ledger
    lease_ttl_s: float = 30.0  # a lease not renewed this long (its gateway died) expires; renewed at a third of it
    lease_share: float = 0.25  # a grant is at most this share of what the budget has left (or the request's need)

    # gateway: resilience
    # Per attempt: connect is upstream_connect_timeout_s and first byte upstream_read_timeout_s
    # (above); a provider's registration may override any of the four (`timeouts`).
    upstream_idle_timeout_s: float = 30.0  # longest silence between two chunks of an answer
    upstream_total_timeout_s: float = 600.0  # one attempt, from sending to the answer's last byte
    retries_per_provider: int = 1  # tries again on the same provider after a retryable error
    retry_budget_attempts: int = 6  # upstream calls one request may make, retries and fallbacks together
    retry_budget_s: float = 10.0  # no retry starts later than this after the request's first attempt
    retry_backoff_base_s: float = 0.1  # full jitter: retry n waits uniform(0, min(cap, base * 2**n))
    retry_backoff_cap_s: float = 2.0
    retry_after_max_s: float = 5.0  # a longer Retry-After is not waited for: the next provider is tried
    breaker_failures: int = 5  # consecutive failures that open a provider's circuit ...
    breaker_failure_rate: float = 0.5  # ... or this share of failures in the window ...
    breaker_window_s: float = 60.0
    breaker_min_calls: int = 20  # ... once the window holds this many calls
    breaker_cooldown_s: float = 30.0  # open this long, then one probe call (half-open)
    # router: active health checks of every active provider (0 s interval: off)
    health_check_interval_s: float = 10.0
    health_check_timeout_s: float = 2.0
    health_unhealthy_after: int = 3  # consecutive failed probes that take a provider out of selection
    health_healthy_after: int = 2  # consecutive good probes that bring it back
    health_passive_failures: int = 0  # failed requests in a row (gateways' outcome reports) that take it out; 0: off

    # ledger
    hold_ttl_s: float = 600.0  # a hold or lease never settled or renewed (gateway died) expires after this
    events_ring: int = 4096  # GET /events: the newest events kept for Last-Event-ID resume
    events_heartbeat_s: float = 15.0  # GET /events: a heartbeat comment after this long with nothing sent
    # ledger: alerts (docs/alerts.md). Rules are evaluated every alert_interval_s; notifications are
    # delivered by a background queue, retried alert_delivery_attempts times with exponential backoff
    # (alert_retry_base_s doubling up to alert_retry_cap_s); the daily summary of a UTC day goes out
    # at alert_summary_hour (UTC) the day after; spend_anomaly compares with the previous
    # alert_anomaly_days days
    alerts_enabled: bool = True  # the background evaluator and delivery queue run
    alert_interval_s: float = 60.0
    alert_poll_s: float = 1.0  # how often the queue looks for deliveries that are due
    alert_delivery_timeout_s: float = 10.0
    alert_delivery_attempts: int = 6
    alert_retry_base_s: float = 30.0
    alert_retry_cap_s: float = 3600.0
    alert_summary_hour: int = 8
    alert_anomaly_days: int = 7
    # ledger: retention (services/ledger/analytics/retention.py), pruned every retention_interval_s (0: never)
    retention_receipts_days: float = Field(90.0, gt=0)
    retention_minute_days: float = Field(7.0, gt=0)
    retention_hour_days: float = Field(90.0, gt=0)
    retention_day_days: float = Field(730.0, gt=0)
    # budget spend buckets: at least the current and previous month in every zone (62 days + 1)
    retention_spend_bucket_days: float = Field(70.0, ge=63)
    # a periodic budget's threshold events, by period start: 63 keeps a month's after it has ended
    retention_budget_event_days: float = Field(70.0, ge=63)
    retention_interval_s: float = Field(300.0, ge=0)
    # ledger: the router(s) whose provider registry the cheaper-provider recommendation reads
    # (comma-separated; empty: none, the recommendation compares providers of one model name only).
    # Not router_url: that one always has a default, and a ledger calls a router only when told of it.
    ledger_router_url: str = ""
    # ledger: at start, add the receipts booked before the series tables to them, in batches of
    # this many (services/ledger/analytics/backfill.py; 0: only `tollway db backfill-series` does)
    series_backfill_batch: int = Field(500, ge=0, le=5_000)
    # ledger: receipt batches arriving while an ingest transaction runs are written together in the
    # next one, up to this many receipts (services/ledger/receipts/group_commit.py)
    ingest_group_receipts: int = Field(5_000, ge=1)
    budget_tz: str = "UTC"  # the calendar of a daily/weekly/monthly budget that names no `tz` (an IANA zone)

    # router: routing strategies
    routing_config: Path | None = None  # YAML of aliases, routes, rules, experiments loaded at router start
    # router: the operator's price rows (JSON or YAML) over the shipped price catalog (docs/pricing.md)
    price_catalog: Path | None = None
    latency_window_s: float = 86400.0  # outcomes older than this no longer count (sliding window)
    latency_min_samples: int = 20  # below this many outcomes a provider's SLO stands in for its P95
    success_rate_floor: float = 0.8  # latency strategies leave out providers under this success rate
    outcome_max_samples: int = 2000  # newest outcomes kept per provider within the window
    stats_publish_interval_s: float = 2.0  # router: how often new stats may move the snapshot
    outcome_report_interval_s: float = 1.0  # gateway: how often outcomes are sent to the router
    outcome_batch_size: int = 2000
    region: str | None = None  # gateway: the callers' region when a request does not say (region strategy)

    @field_validator("budget_tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"TOLLWAY_BUDGET_TZ {value!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
        return value

    @property
    def costs_dir(self) -> Path:
        return self.artifacts_dir / "costs"

    def service_dir(self, service: str) -> Path:
        return self.artifacts_dir / service
