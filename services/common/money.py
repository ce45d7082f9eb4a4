"""Money: exact USD arithmetic with `Decimal`, from price table to receipt to ledger totals.

Receipts carry microdollars (6 decimal places). Prices are kept exact as given (per token);
per-million-token prices are converted exactly (a Decimal division by 10**6 is exact).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal, InvalidOperation

MICRO = Decimal("0.000001")
MICROS_PER_USD = 1_000_000
MTOK = Decimal(1_000_000)
ZERO = Decimal(0)
MAX_AMOUNT = Decimal(10) ** 12  # above any real price or budget; keeps quantize within precision


class MoneyError(ValueError):
    """A value that cannot be an amount of money (NaN, infinite, negative, not a number)."""


def to_decimal(value: object, *, field: str = "amount") -> Decimal:
    """Parse a price or amount exactly. Floats go through their shortest repr (0.1 -> 0.1)."""
    if isinstance(value, bool):
        raise MoneyError(f"{field} must be a number, not a boolean")
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, float):
        d = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            d = Decimal(value.strip())
        except InvalidOperation as exc:
            raise MoneyError(f"{field} is not a number: {value!r}") from exc
    else:
        raise MoneyError(f"{field} must be a number")
    if not d.is_finite():
        raise MoneyError(f"{field} must be finite")
    if d < 0:
        raise MoneyError(f"{field} must not be negative")
    if d >= MAX_AMOUNT:
        raise MoneyError(f"{field} is too large (at most {MAX_AMOUNT})")
    return d


def per_mtok_to_per_token(price_per_mtok: Decimal) -> Decimal:
    return price_per_mtok / MTOK


def per_token_to_per_mtok(price_per_token: Decimal) -> Decimal:
    return plain(price_per_token * MTOK)


def plain(amount: Decimal) -> Decimal:
    """Drop trailing zeros without going to exponent form: 10.000 -> 10, 0.00003000 -> 0.00003."""
    d = amount.normalize()
    return d.quantize(Decimal(1)) if d.as_tuple().exponent > 0 else d  # type: ignore[operator]


def usd(amount: Decimal) -> Decimal:
    """Round to microdollars, half to even (the receipt's precision)."""
    return amount.quantize(MICRO, rounding=ROUND_HALF_EVEN)


def usd_ceiling(amount: Decimal) -> Decimal:
    """Round up to microdollars: used for worst-case holds, which must never be too small."""
    return amount.quantize(MICRO, rounding=ROUND_CEILING)


def token_cost(tokens: int, price_per_token: Decimal) -> Decimal:
    """Cost of `tokens` at `price_per_token`, rounded to microdollars."""
    return usd(price_per_token * tokens)


def cache_parts(input_tokens: int, cache_read_tokens: int = 0,
                cache_creation_tokens: int = 0) -> tuple[int, int, int]:
    """(uncached, read, written): the input tokens split by how they are billed. The cache counts
    are parts of `input_tokens`; counts a provider reports beyond it are capped (reads first), so
    no more tokens are billed than `input_tokens`."""
    read = min(max(cache_read_tokens, 0), max(input_tokens, 0))
    written = min(max(cache_creation_tokens, 0), max(input_tokens, 0) - read)
    return input_tokens - read - written, read, written


def written_1h_part(written: int, cache_creation_1h_tokens: int) -> int:
    """Of `written` cache-write tokens, those written for an hour (Anthropic's
    `ephemeral_1h_input_tokens`): a part of the writes, capped at them."""
    return min(max(cache_creation_1h_tokens, 0), max(written, 0))


def input_cost(input_tokens: int, input_price: Decimal, *, cache_read_tokens: int = 0,
               cache_read_price: Decimal | None = None, cache_creation_tokens: int = 0,
               cache_write_price: Decimal | None = None, cache_creation_1h_tokens: int = 0,
               cache_write_1h_price: Decimal | None = None) -> Decimal:
    """What a request's input tokens cost when some were read from or written to the provider's
    prompt cache: uncached x input price + reads x read price + writes x write price, the writes
    kept for an hour (`cache_creation_1h_tokens`, a part of `cache_creation_tokens`) at the 1-hour
    write price, summed exactly and rounded to microdollars once, as token_cost rounds. A missing
    read or write price is the input price and a missing 1-hour write price the write price, so
    without cache prices this is token_cost(input_tokens, input_price)."""
    if not cache_read_tokens and not cache_creation_tokens:  # most calls: every token at the input price
        return usd(input_price * input_tokens)
    uncached, read, written = cache_parts(input_tokens, cache_read_tokens, cache_creation_tokens)
    written_1h = written_1h_part(written, cache_creation_1h_tokens)
    read_price = input_price if cache_read_price is None else cache_read_price
    write_price = input_price if cache_write_price is None else cache_write_price
    write_1h_price = write_price if cache_write_1h_price is None else cache_write_1h_price
    return usd(input_price * uncached + read_price * read + write_price * (written - written_1h)
               + write_1h_price * written_1h)


def to_micros(amount: Decimal) -> int:
    """Exact integer microdollars; refuses amounts finer than a microdollar."""
    scaled = amount * MICROS_PER_USD
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{amount} has more than 6 decimal places")
    return int(scaled)


def from_micros(micros: int) -> Decimal:
    return (Decimal(micros) / MICROS_PER_USD).quantize(MICRO)


def dollars(micros: int) -> str:
    """Money in words: cents at least, micros where they matter: $1.00, $0.05, $0.000090."""
    amount = plain(from_micros(micros))
    if amount.as_tuple().exponent > -2:  # type: ignore[operator]
        amount = amount.quantize(Decimal("0.01"))
    return f"${amount:f}"


def fmt_usd(amount: Decimal) -> str:
    """Exactly six decimals, as written in receipts: 0.015 -> '0.015000'."""
    return format(usd(amount), "f")
