"""Who may use the cache for a request: process settings, the key's policy, the request's own
controls (headers and the `tollway.cache` body extension), and whether the request is
deterministic enough.

Deterministic means `temperature` is 0. An unset temperature is the provider's default (1.0 at
OpenAI): a sampled answer that the caller expects to vary, so it is cached only when the caller
(`"tollway": {"cache": true}`) or its key (`cache_sampled`) opts in. An opt-out (`no-store`,
`"cache": false`, a key with the cache disabled) always wins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from services.common.errors import InvalidRequest

TTL_HEADER = "x-tollway-cache-ttl"
_BODY_FIELDS = {"enabled", "lookup", "store", "ttl_s", "semantic"}


@dataclass(frozen=True, slots=True)
class CacheSettings:
    """Process-wide settings (TOLLWAY_CACHE_*)."""

    enabled: bool = True
    max_entries: int = 10_000
    max_bytes: int = 256 * 1024 * 1024
    max_entry_bytes: int = 1024 * 1024
    default_ttl_s: float = 3600.0
    max_ttl_s: float = 7 * 86400.0
    semantic: bool = False
    semantic_threshold: float = 0.60
    semantic_max_chars: int = 2000
    semantic_candidates: int = 4


@dataclass(frozen=True, slots=True)
class KeyCachePolicy:
    """Per virtual key. None means "as the settings say"."""

    enabled: bool = True
    semantic: bool | None = None
    ttl_s: float | None = None
    cache_sampled: bool = False  # also cache requests with a temperature above 0 or unset


@dataclass(frozen=True, slots=True)
class RequestControls:
    """What the request itself asked for. `enabled` True opts in, False opts out, None neither."""

    enabled: bool | None = None
    lookup: bool = True
    store: bool = True
    ttl_s: float | None = None
    semantic: bool | None = None


@dataclass(frozen=True, slots=True)
class CacheDecision:
    lookup: bool
    store: bool
    semantic: bool
    ttl_s: float
    reason: str  # why the cache is (partly) off: "", disabled, opted_out, sampled, no_store, no_cache

    @property
    def active(self) -> bool:
        return self.lookup or self.store


OFF = CacheDecision(False, False, False, 0.0, "disabled")
OFF_OPTED_OUT = CacheDecision(False, False, False, 0.0, "opted_out")  # made once: decide() runs on every request
OFF_SAMPLED = CacheDecision(False, False, False, 0.0, "sampled")


def read_controls(headers: Any, payload: dict[str, Any]) -> tuple[RequestControls, dict[str, Any]]:
    """The request's controls and the payload to forward (without `tollway.cache`).

    `headers` is any case-insensitive mapping (Starlette's `Headers`) or a plain dict.
    """
    controls = RequestControls()
    cc = _header(headers, "cache-control")
    if cc:
        directives = {d.strip().lower() for d in cc.split(",")}
        if "no-store" in directives:
            controls = replace(controls, lookup=False, store=False)
        if "no-cache" in directives:
            controls = replace(controls, lookup=False)
    ttl = _header(headers, TTL_HEADER)
    if ttl is not None:
        controls = replace(controls, ttl_s=_ttl(ttl, "X-Tollway-Cache-TTL"))
    ext = payload.get("tollway")
    if not isinstance(ext, dict) or "cache" not in ext:
        if ext is not None and not isinstance(ext, dict):
            raise InvalidRequest("tollway must be an object", field="tollway")
        return controls, payload
    controls = _body_controls(ext["cache"], controls)
    rest = {k: v for k, v in ext.items() if k != "cache"}
    forwarded = {k: v for k, v in payload.items() if k != "tollway"}
    if rest:
        forwarded["tollway"] = rest
    return controls, forwarded


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    value = headers.get(name)
    if value is None and isinstance(headers, dict):
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value


def _ttl(value: Any, field: str) -> float:
    try:
        ttl = float(value)
    except (TypeError, ValueError):
        raise InvalidRequest(f"{field} must be a number of seconds", field=field) from None
    if isinstance(value, bool) or not math.isfinite(ttl) or ttl <= 0:
        raise InvalidRequest(f"{field} must be a positive number of seconds", field=field)
    return ttl


def _body_controls(spec: Any, controls: RequestControls) -> RequestControls:
    field = "tollway.cache"
    if isinstance(spec, bool):
        return replace(controls, enabled=spec)
    if not isinstance(spec, dict):
        raise InvalidRequest(f"{field} must be true, false or an object", field=field)
    unknown = set(spec) - _BODY_FIELDS
    if unknown:
        raise InvalidRequest(f"{field} has unknown fields: {', '.join(sorted(unknown))}", field=field)
    for name in ("enabled", "lookup", "store", "semantic"):
        if name in spec and not isinstance(spec[name], bool):
            raise InvalidRequest(f"{field}.{name} must be true or false", field=f"{field}.{name}")
    return replace(
        controls,
        enabled=spec.get("enabled", controls.enabled),
        lookup=controls.lookup and spec.get("lookup", True),
        store=controls.store and spec.get("store", True),
        ttl_s=_ttl(spec["ttl_s"], f"{field}.ttl_s") if "ttl_s" in spec else controls.ttl_s,
        semantic=spec.get("semantic", controls.semantic),
    )


def is_deterministic(payload: dict[str, Any]) -> bool:
    temperature = payload.get("temperature")
    return isinstance(temperature, int | float) and not isinstance(temperature, bool) and temperature == 0


def decide(payload: dict[str, Any], controls: RequestControls, key: KeyCachePolicy,
           settings: CacheSettings) -> CacheDecision:
    if not settings.enabled or not key.enabled:
        return OFF
    if controls.enabled is False:
        return OFF_OPTED_OUT
    if not (is_deterministic(payload) or controls.enabled or key.cache_sampled):
        return OFF_SAMPLED
    ttl = controls.ttl_s or key.ttl_s or settings.default_ttl_s
    semantic = settings.semantic and key.semantic is not False and controls.semantic is not False
    reason = "" if controls.lookup and controls.store else ("no_store" if not controls.store else "no_cache")
    return CacheDecision(controls.lookup, controls.store, semantic, min(ttl, settings.max_ttl_s), reason)
