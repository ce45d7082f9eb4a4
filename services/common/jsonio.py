"""JSON in and out with exact money: Decimals are written as exact JSON numbers
(`0.015000`, never `0.015000000000000001`) and read back as Decimals where money matters."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import msgspec
import orjson

from services.common.errors import InvalidRequest

# Strict JSON with every non-integer number a Decimal, in C. Whatever it refuses (NaN, Infinity,
# a byte-order mark, UTF-16, nesting too deep...) goes to the stdlib's parser, which refused or
# read it before this one was added, so that each such body gets the answer it always got (a
# NaN figure, say, the contract's 400 naming its field rather than "not valid JSON").
_EXACT = msgspec.json.Decoder(float_hook=Decimal)


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return orjson.Fragment(format(obj, "f").encode())
    if hasattr(obj, "to_json"):
        return obj.to_json()
    raise TypeError(f"cannot serialize {type(obj).__name__}")


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, default=_default)


def dumps_line(obj: Any) -> bytes:
    return orjson.dumps(obj, default=_default, option=orjson.OPT_APPEND_NEWLINE)


def loads(body: bytes | str) -> Any:
    """Fast parse for bodies that carry no money (floats stay floats)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"body is not valid JSON: {exc}") from None


def loads_exact(body: bytes | str) -> Any:
    """Parse with every non-integer number as a Decimal: for bodies that carry money."""
    try:
        return _EXACT.decode(body)
    except (msgspec.DecodeError, RecursionError):
        pass
    try:
        return json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidRequest(f"body is not valid JSON: {exc}") from None
