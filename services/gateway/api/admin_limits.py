"""Rate limits as the operator sees them (admin key; everything under /admin is guarded):
GET /admin/limits (what applies and the limiter's counters), GET /admin/limits/usage (where one
caller stands, charging nothing), GET /admin/limits/violations?day= (refusals per limit)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from services.common.clock import to_us
from services.common.errors import InvalidRequest, NotFound
from services.common.http.responses import JSONResponse
from services.gateway.limits.decision import Decision, Hit
from services.gateway.limits.resolve import Subject
from services.gateway.limits.spec import LimitSpec
from services.gateway.limits.timebase import ceil_seconds
from services.gateway.pipeline import Pipeline


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


async def usage(request: Request) -> Response:
    """?key_id=, or any of user/team/org/ip/provider: the caller's standing in every limit."""
    pipeline: Pipeline = request.app.state.pipeline
    q = request.query_params
    own: tuple[LimitSpec, ...] = ()
    key_id = q.get("key_id")
    subject = Subject(user=q.get("user"), team=q.get("team"), org=q.get("org"), ip=q.get("ip"),
                      provider=q.get("provider"))
    if key_id:
        record = next((k for k in pipeline.keys.value.by_hash.values() if k.key_id == key_id), None)
        if record is None:
            raise NotFound(f"no key {key_id} known to this gateway")
        own = record.specs
        subject = Subject(key=key_id, user=record.user, team=record.team, org=record.org, ip=q.get("ip"),
                          provider=q.get("provider"))
    elif not any(q.get(d) for d in ("user", "team", "org", "ip", "provider")):
        raise InvalidRequest("say whose usage: ?key_id= or ?user=, ?team=, ?org=, ?ip=, ?provider=",
                             field="key_id")
    now = to_us(pipeline.clock.now())
    hits = [*pipeline.gate.general.hits(subject, now_us=now, usage=True),
            *pipeline.keys.value.limits.hits(subject, now_us=now, usage=True),
            *(Hit(s, f"{s.fingerprint}|{key_id}", 0) for s in own if s.active(now))]
    decisions = await pipeline.gate.limiter.peek(hits, now) if hits else ()
    return JSONResponse({"subject": {k: v for k, v in asdict(subject).items() if v},
                         "limits": [_standing(h, d) for h, d in zip(hits, decisions, strict=True)]})


def _standing(hit: Hit, decision: Decision) -> dict[str, Any]:
    return {**_spec(hit.spec), "used": decision.limit - decision.remaining, "remaining": decision.remaining,
            "reset_s": ceil_seconds(decision.reset_us)}


async def violations(request: Request) -> Response:
    pipeline: Pipeline = request.app.state.pipeline
    raw = request.query_params.get("day")
    try:
        day = date.fromisoformat(raw) if raw else pipeline.clock.now().date()
    except ValueError:
        raise InvalidRequest(f"day must be YYYY-MM-DD, not {raw!r}", field="day") from None
    counts = await pipeline.gate.limiter.violations(day)
    return JSONResponse({"day": day.isoformat(), "violations": counts, "total": sum(counts.values())})
