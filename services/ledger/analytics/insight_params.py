"""The parameters of GET /analytics/projection, /analytics/anomalies and /analytics/recommendations,
checked: every bad field is a 400 naming it, unknown ones too (as for the series, spec.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from decimal import Decimal, InvalidOperation

from services.common.errors import InvalidRequest
from services.ledger.analytics.anomaly import DAY_US
from services.ledger.analytics.projection import HORIZON_DAYS
from services.ledger.analytics.spec import GROUPS, filters_of, instant, refuse_unknown, zone

FILTERED = ("format", *GROUPS)
SEASONS = {"day": DAY_US, "week": 7 * DAY_US}
METRICS = ("cost", "error_rate")
MAX_ANOMALY_SPAN_US = 31 * DAY_US  # hours examined by one query
MAX_RECOMMENDATION_SPAN_US = 92 * DAY_US


def _number(params: Mapping[str, str], name: str, default: str, low: Decimal, high: Decimal) -> Decimal:
    text = params.get(name, default)
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or not low <= value <= high:
        raise InvalidRequest(f"{name} must be a number from {low} to {high}, not {text[:64]!r}", field=name)
    return value


def _whole(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = params.get(name, str(default))
    if not (text.isascii() and text.isdigit() and len(text) <= 12) or not low <= int(text) <= high:
        raise InvalidRequest(f"{name} must be a whole number from {low} to {high}, not {text[:64]!r}", field=name)
    return int(text)


def _choice(params: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = params.get(name, default)
    if value not in choices:
        raise InvalidRequest(f"{name} must be one of {', '.join(choices)}, not {value[:64]!r}", field=name)
    return value


def _range(params: Mapping[str, str], now_us: int, default_span_us: int, max_span_us: int) -> tuple[int, int]:
    until = instant(params, "until")
    until = now_us if until is None else until
    since = instant(params, "since")
    since = until - default_span_us if since is None else since
    if since >= until:
        raise InvalidRequest("since must be before until", field="since")
    if until - since > max_span_us:
        raise InvalidRequest(f"since to until spans more than {max_span_us // DAY_US} days", field="since")
    return since, until


@dataclass(frozen=True)
class ProjectionQuery:
    horizon: str
    history_days: int
    confidence: Decimal
    at_us: int  # the projection starts at the start of the day holding this instant
    tz: tzinfo
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)


def parse_projection(params: Mapping[str, str], now_us: int) -> ProjectionQuery:
    refuse_unknown(params, ("horizon", "history_days", "confidence", "until", "tz", *FILTERED))
    at = instant(params, "until")
    return ProjectionQuery(horizon=_choice(params, "horizon", "month", tuple(HORIZON_DAYS)),
                           history_days=_whole(params, "history_days", 28, 7, 730),
                           confidence=_number(params, "confidence", "0.9", Decimal("0.5"), Decimal("0.99")),
                           at_us=now_us if at is None else at, tz=zone(params), filters=filters_of(params, ()))


@dataclass(frozen=True)
class AnomalyQuery:
    metric: str
    since_us: int
    until_us: int
    season: str  # day: the same hour on previous days; week: the same hour and weekday on previous weeks
    seasons: int
    threshold: Decimal
    min_requests: int  # an hour's error rate counts only with this many requests
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)


def parse_anomalies(params: Mapping[str, str], now_us: int, default_seasons: int) -> AnomalyQuery:
    refuse_unknown(params, ("metric", "since", "until", "season", "seasons", "threshold", "min_requests",
                            *FILTERED))
    since, until = _range(params, now_us, DAY_US, MAX_ANOMALY_SPAN_US)
    return AnomalyQuery(metric=_choice(params, "metric", "cost", METRICS), since_us=since, until_us=until,
                        season=_choice(params, "season", "day", tuple(SEASONS)),
                        seasons=_whole(params, "seasons", min(max(default_seasons, 3), 12), 3, 12),
                        threshold=_number(params, "threshold", "3", Decimal("0.5"), Decimal("1000")),
                        min_requests=_whole(params, "min_requests", 10, 1, 1_000_000),
                        filters=filters_of(params, ()))


@dataclass(frozen=True)
class RecommendationQuery:
    since_us: int
    until_us: int
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)


def parse_recommendations(params: Mapping[str, str], now_us: int) -> RecommendationQuery:
    refuse_unknown(params, ("since", "until", *FILTERED))
    if "tag" in params:
        raise InvalidRequest("recommendations read the receipts, which carry no tags: filter by key, user, team,"
                             " org, run, agent, provider or model", field="tag")
    since, until = _range(params, now_us, 7 * DAY_US, MAX_RECOMMENDATION_SPAN_US)
    return RecommendationQuery(since_us=since, until_us=until, filters=filters_of(params, ()))
