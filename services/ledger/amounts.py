"""Money inputs to exact integer microdollars, refused with a 400 naming the field."""

from __future__ import annotations

from services.common.errors import InvalidRequest
from services.common.money import MoneyError, to_decimal, to_micros


def micros_of(value: object, field: str, *, where: str = "", path: str | None = None) -> int:
    """`value` (a JSON number or numeric string) in microdollars; more than 6 decimals, negative,
    non-finite or absurdly large amounts are refused. `where` prefixes the message."""
    try:
        return to_micros(to_decimal(value, field=field))
    except MoneyError as exc:
        text = str(exc)
        message = text if text.startswith(field) else f"{field} {text}"
        raise InvalidRequest(where + message, field=path or field) from None
