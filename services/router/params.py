"""Query parameters read strictly: a bad value, a repeated single value or an unknown name is
a 400 naming the parameter, never a silent default."""

from __future__ import annotations

import math
from collections.abc import Iterable

from starlette.datastructures import QueryParams

from services.common.errors import InvalidRequest

TRUE = ("true", "1", "yes")
FALSE = ("false", "0", "no")


def reject_unknown(params: QueryParams, allowed: Iterable[str]) -> None:
    known = set(allowed)
    unknown = sorted(set(params.keys()) - known)
    if unknown:
        raise InvalidRequest(f"unknown query parameter {unknown[0]!r}; expected one of "
                             f"{', '.join(sorted(known))}", field=unknown[0][:64])


def single(params: QueryParams, name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise InvalidRequest(f"{name} may be given once", field=name)
    return values[0] if values else None


def int_param(params: QueryParams, name: str, *, minimum: int = 0) -> int | None:
    text = single(params, name)
    if text is None:
        return None
    try:
        value = int(text.strip())
    except ValueError:
        raise InvalidRequest(f"{name} must be an integer", field=name) from None
    if value < minimum:
        raise InvalidRequest(f"{name} must be at least {minimum}", field=name)
    return value


def float_param(params: QueryParams, name: str, *, minimum: float = 0.0) -> float | None:
    text = single(params, name)
    if text is None:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        raise InvalidRequest(f"{name} must be a number of seconds", field=name) from None
    if not math.isfinite(value) or value < minimum:
        raise InvalidRequest(f"{name} must be a finite number, at least {minimum:g}", field=name)
    return value


def bool_param(params: QueryParams, name: str) -> bool | None:
    text = single(params, name)
    if text is None:
        return None
    lowered = text.strip().lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise InvalidRequest(f"{name} must be true or false", field=name)
