"""Rate limits as the operator sees them (admin key; everything under /admin is guarded):
GET /admin/limits (what applies and the limiter's counters), GET /admin/limits/usage (where one
caller stands, charging nothing), GET /admin/limits/active?near= (the buckets near their limit
now), GET /admin/limits/violations?day=&key_id= (refusals per limit, and the newest refusals one
by one), POST /admin/limits/reset (a limit starts afresh for one caller).

On the Redis backend every replica shares the counters, so what these read and reset holds for
all of them; in process, for this gateway only (the answers say which in `scope`)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from services.common.clock import to_us
from services.common.errors import InvalidRequest, NotFound
from services.common.http.body import read_object
from services.common.http.responses import JSONResponse
from services.gateway.auth.directory import KeyRecord
from services.gateway.limits.decision import Decision, Hit
from services.gateway.limits.records import FILTERS, iso, split_key
from services.gateway.limits.resolve import GLOBAL, Subject
from services.gateway.limits.spec import LimitSpec
from services.gateway.limits.timebase import ceil_seconds
from services.gateway.pipeline import Pipeline

SUBJECTS = {"key_id": "key", "user": "user", "team": "team", "org": "org", "ip": "ip", "provider": "provider"}


def _spec(spec: LimitSpec) -> dict[str, Any]:
    out = {"name": spec.name, "dimension": spec.dimension, "algorithm": spec.algorithm, "limit": spec.limit,
           "window_s": spec.window_s, "unit": spec.unit}
    for extra in ("burst", "match"):
        if getattr(spec, extra) is not None:
            out[extra] = getattr(spec, extra)
    return out


async def limits(request: Request) -> Response:
    pipeline: Pipeline = request.app.state.pipeline
    gate = pipeline.gate
    published = pipeline.keys.value.limits
    return JSONResponse({
        "backend": pipeline.settings.rate_limit_backend,
        "counters": asdict(gate.limiter.counters),
        "gateway_limits": [_spec(s) for s in [*gate.general.general, *_custom(gate.general.custom)]],
        "published_limits": [_spec(s) for s in [*published.general, *_custom(published.custom)]],
    })


def _custom(custom: dict[Any, list[LimitSpec]]) -> list[LimitSpec]:
    return [spec for specs in custom.values() for spec in specs]


def scope(pipeline: Pipeline) -> str:
    if pipeline.settings.rate_limit_backend == "redis":
        return "every gateway sharing this Redis"
    return "this gateway process only (in-process limiter)"


def _key(pipeline: Pipeline, key_id: str) -> KeyRecord | None:
    return next((k for k in pipeline.keys.value.by_hash.values() if k.key_id == key_id), None)


async def usage(request: Request) -> Response:
    """?key_id=, or any of user/team/org/ip/provider: the caller's standing in every limit."""
    pipeline: Pipeline = request.app.state.pipeline
    q = request.query_params
    own: tuple[LimitSpec, ...] = ()
    key_id = q.get("key_id")
    subject = Subject(user=q.get("user"), team=q.get("team"), org=q.get("org"), ip=q.get("ip"),
                      provider=q.get("provider"))
    if key_id:
        record = _key(pipeline, key_id)
        if record is None:
            raise NotFound(f"no key {key_id} known to this gateway")
        own = record.specs
        subject = Subject(key=key_id, user=record.user, team=record.team, org=record.org, ip=q.get("ip"),
                          provider=q.get("provider"))
    elif not any(q.get(d) for d in ("user", "team", "org", "ip", "provider")):
        raise InvalidRequest("say whose usage: ?key_id= or ?user=, ?team=, ?org=, ?ip=, ?provider=",
                             field="key_id")
    return JSONResponse({"subject": {k: v for k, v in asdict(subject).items() if v},
                         "limits": await standings(pipeline, subject, own)})


async def standings(pipeline: Pipeline, subject: Subject, own: tuple[LimitSpec, ...]) -> list[dict[str, Any]]:
    """Where `subject` stands in every limit that applies to it, charging nothing."""
    now = to_us(pipeline.clock.now())
    hits = pipeline.gate.standing(subject, own, now, pipeline.keys.value.limits)
    decisions = await pipeline.gate.limiter.peek(hits, now) if hits else ()
    return [_standing(h, d, now) for h, d in zip(hits, decisions, strict=True)]


def _standing(hit: Hit, decision: Decision, now: int) -> dict[str, Any]:
    """`used` and `remaining` out of `capacity` (a token bucket's burst, else its limit)."""
    return {**_spec(hit.spec), "used": decision.limit - decision.remaining, "remaining": decision.remaining,
            "capacity": decision.limit, "reset_s": ceil_seconds(decision.reset_us),
            "reset_at": iso(now + decision.reset_us)}


def _bounded(raw: str | None, name: str, default: int, most: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= most:
        raise InvalidRequest(f"{name} must be a whole number from 1 to {most}, not {raw!r}", field=name)
    return value


async def violations(request: Request) -> Response:
    """Refusals per limit on a UTC day (?day=, default today), and the newest refusals one by one
    (?key_id=, ?user=, ?team=, ?org=, ?ip=, ?provider=, ?name= the limit; ?max=, 100 by default)."""
    pipeline: Pipeline = request.app.state.pipeline
    q = request.query_params
    raw = q.get("day")
    try:
        day = date.fromisoformat(raw) if raw else pipeline.clock.now().date()
    except ValueError:
        raise InvalidRequest(f"day must be YYYY-MM-DD, not {raw!r}", field="day") from None
    most = _bounded(q.get("max"), "max", 100, 1000)
    wanted = {name: q[name] for name in FILTERS if name != "limit" and q.get(name)}
    if q.get("name"):
        wanted["limit"] = q["name"]
    limiter = pipeline.gate.limiter
    counts = await limiter.violations(day)
    records = await limiter.violation_records(wanted, most)
    return JSONResponse({"day": day.isoformat(), "violations": counts, "total": sum(counts.values()),
                         "records": records, "filters": wanted, "scope": scope(pipeline)})


async def active(request: Request) -> Response:
    """The buckets at least `near` used now (a share, 0.8 by default), fullest first: ?max=
    (100), ?scan= states looked at, at most (10,000; `complete` says whether that was all)."""
    pipeline: Pipeline = request.app.state.pipeline
    q = request.query_params
    raw = q.get("near", "0.8")
    try:
        near = float(raw)
    except ValueError:
        near = -1.0
    if not 0 <= near <= 1:
        raise InvalidRequest(f"near is a share of the limit from 0 to 1, not {raw!r}", field="near")
    most = _bounded(q.get("max"), "max", 100, 1000)
    scan = _bounded(q.get("scan"), "scan", 10_000, 1_000_000)
    keys = pipeline.keys.value
    specs = pipeline.gate.in_force(keys.limits, (s for k in keys.by_hash.values() for s in k.specs))
    known: dict[str, LimitSpec] = {}
    for spec in specs:
        known.setdefault(spec.fingerprint, spec)
    now = to_us(pipeline.clock.now())
    found = await pipeline.gate.limiter.buckets(known, now, near=near, most=most, scan=scan)
    buckets = []
    for b in found.buckets:
        value = split_key(b.key)[1]
        who = {"key_id": value} if b.spec.dimension == "key" else {}
        buckets.append({"value": value, **who, **_standing(Hit(b.spec, b.key, 0), b.decision, now),
                        "share": round(b.share(), 4)})
    return JSONResponse({"near": near, "buckets": buckets, "scanned": found.scanned, "complete": found.complete,
                         "backend": pipeline.settings.rate_limit_backend, "scope": scope(pipeline)})


async def reset(request: Request) -> Response:
    """{"name": <limit>, and one of "key_id", "user", "team", "org", "ip", "provider" or
    "global": true}: the named limit (every limit of that dimension when "name" is left out)
    starts afresh for that caller, so a caller it refused is admitted at once."""
    pipeline: Pipeline = request.app.state.pipeline
    body = await read_object(request)
    unknown = sorted(set(body) - {"name", "global", *SUBJECTS})
    if unknown:
        raise InvalidRequest(f"unknown field {unknown[0]!r}: give name and one of "
                             f"{', '.join(SUBJECTS)} or global", field=unknown[0])
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise InvalidRequest("name is the limit's name, a string", field="name")
    given = [field for field in (*SUBJECTS, "global") if body.get(field) not in (None, False)]
    if len(given) != 1:
        raise InvalidRequest("say whose counters to reset: exactly one of key_id, user, team, org, ip, provider, "
                             "or \"global\": true", field="key_id")
    field = given[0]
    if field == "global":
        if body["global"] is not True:
            raise InvalidRequest("global is true or left out", field="global")
        dimension, value = "global", GLOBAL
    else:
        value = body[field]
        if not isinstance(value, str) or not value:
            raise InvalidRequest(f"{field} is a non-empty string", field=field)
        dimension = SUBJECTS[field]
    own: tuple[LimitSpec, ...] = ()
    if dimension == "key" and (record := _key(pipeline, value)) is not None:
        own = record.specs
    now = to_us(pipeline.clock.now())
    gate = pipeline.gate
    targets = gate.reset_keys(gate.in_force(pipeline.keys.value.limits, own), dimension, value, name, now)
    if not targets:
        which = f"limit {name}" if name else "limit"
        raise NotFound(f"no {which} on {dimension} applies to {value!r} on this gateway", field="name")
    cleared = await gate.limiter.reset([key for _, key in targets])
    return JSONResponse({"dimension": dimension, "value": value, "limits": [_spec(spec) for spec, _ in targets],
                         "cleared": cleared, "backend": pipeline.settings.rate_limit_backend,
                         "scope": scope(pipeline)})
