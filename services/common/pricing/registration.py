"""A registration completed from the price catalog, before the registry reads it
(services/common/registry/provider.py, provider_from_registration).

- Prices the registration gives always win, field by field; the catalog fills the ones it leaves
  out (input, output, cache read, cache write, 1-hour cache write), in the registration's own form
  (per token or per million tokens; exact either way), and `context_window` when it has none.
- `priced_by` says where the prices came from: `registration`, `catalog:<version>` (every price
  from the catalog) or `registration+catalog:<version>`; `catalog_model` names the row.
- A model the catalog does not know, with no prices, is a 400 that says so and how to give prices;
  with some prices, the registry's own rules apply (input and output are required).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.common.errors import InvalidRequest
from services.common.pricing.catalog import PRICE_FIELDS, Match, PriceCatalog
from services.common.registry.provider import PER_MTOK_KEYS, PER_TOKEN_KEYS

REGISTRATION = "registration"


@dataclass(frozen=True, slots=True)
class Pricing:
    """Where a registration's prices (and context window) came from."""

    priced_by: str = REGISTRATION
    catalog_model: str | None = None  # the row, e.g. openai/gpt-4o
    match: Match | None = None
    filled: tuple[str, ...] = ()  # the body fields the catalog gave


def _form(body: dict[str, Any]) -> tuple[str, ...] | None:
    """The price keys of the form the registration uses (per Mtok when it gives none); None when
    it mixes both (the registry then says which one to drop)."""
    per_token, per_mtok = (any(k in body for k in keys) for keys in (PER_TOKEN_KEYS, PER_MTOK_KEYS))
    if per_token and per_mtok:
        return None
    return PER_TOKEN_KEYS if per_token else PER_MTOK_KEYS


def _unknown(model: str, catalog: PriceCatalog) -> InvalidRequest:
    return InvalidRequest(
        f"model {model[:200]!r} is not in the price catalog ({catalog.priced_by}) and the registration gives "
        "no prices: give input_per_mtok and output_per_mtok (or cost_per_input_token and cost_per_output_token), "
        "or add the model to the catalog with an operator file (TOLLWAY_PRICE_CATALOG); GET /catalog lists the "
        "models it knows", field="model")


def priced_registration(body: dict[str, Any], catalog: PriceCatalog) -> tuple[dict[str, Any], Pricing]:
    """The registration with the catalog's prices and context window where it gives none, and
    where its prices came from. `body` is left as it is."""
    keys = _form(body)
    given = [k for k in (*PER_TOKEN_KEYS, *PER_MTOK_KEYS) if k in body]
    if keys is None or (len(given) == len(keys) and "context_window" in body):
        return body, Pricing()
    match = catalog.lookup(body["model"], body.get("api_format"))
    if match is None:
        if not given:
            raise _unknown(body["model"], catalog)
        if "context_window" not in body:
            raise InvalidRequest(f"context_window is required: model {body['model'][:200]!r} is not in the price "
                                 "catalog", field="context_window")
        return body, Pricing()
    row = match.row
    out, filled = dict(body), []
    for key, name in zip(keys, PRICE_FIELDS, strict=True):  # PER_MTOK_KEYS are PRICE_FIELDS
        price = row.per_token(name) if keys is PER_TOKEN_KEYS else row.per_mtok(name)
        if key not in body and price is not None:
            out[key] = price
            filled.append(key)
    if "context_window" not in body:
        out["context_window"] = row.context_window
        filled.append("context_window")
    if not filled:
        return body, Pricing()
    prices_filled = [k for k in filled if k != "context_window"]
    if not prices_filled:
        priced_by = REGISTRATION
    elif given:
        priced_by = f"{REGISTRATION}+{catalog.priced_by}"
    else:
        priced_by = catalog.priced_by
    return out, Pricing(priced_by, row.key, match, tuple(filled))
