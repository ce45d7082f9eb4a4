"""The price catalog: public list prices (per million tokens, exact) and context windows of the
models users meet most, shipped as `catalog.json` beside this module, and an operator's file
(`TOLLWAY_PRICE_CATALOG`, JSON or YAML, the same shape) that overrides or extends its rows.

A row is one model at one provider (`openai/gpt-4o`, `azure/gpt-4o`). `PriceCatalog.lookup` finds
the row a model name means: the exact name or a listed alias first, then the name without its
version suffix (`gpt-4o-2024-08-06` -> `gpt-4o` when there is no row of its own,
`claude-3-7-sonnet-latest` -> `claude-3-7-sonnet-20250219`), a `provider/` prefix picking the
provider (names.py). The catalog's version (`2026-12-02`, or `2026-12-02+<operator version>` with
an operator file) is what a provider priced from it shows (`priced_by`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from services.common.money import MoneyError, per_mtok_to_per_token, plain, to_decimal
from services.common.pricing.names import FORMAT_PROVIDER, PROVIDERS, split_provider, undated, version_rank

PRICE_FIELDS = ("input_per_mtok", "output_per_mtok", "cache_read_per_mtok", "cache_write_per_mtok",
                "cache_write_1h_per_mtok")
MAX_PER_MTOK = Decimal(1_000_000)  # as a registration (services/router/ranges.py)
MAX_CONTEXT = 100_000_000  # as a registration's context_window (contracts/provider_registration.schema.json)
ROW_FIELDS = frozenset({"provider", "model", *PRICE_FIELDS, "context_window", "max_output_tokens", "kind",
                        "aliases", "deprecation_date", "notes", "source", "checked", "transcribed"})


class PriceCatalogError(ValueError):
    """A catalog file that cannot be read: names the file, the row and the field."""


@dataclass(frozen=True, slots=True)
class PriceRow:
    provider: str
    model: str
    input_per_mtok: Decimal
    output_per_mtok: Decimal
    context_window: int
    source: str
    checked: str
    cache_read_per_mtok: Decimal | None = None
    cache_write_per_mtok: Decimal | None = None
    cache_write_1h_per_mtok: Decimal | None = None
    max_output_tokens: int | None = None
    kind: str = "chat"
    aliases: tuple[str, ...] = ()
    deprecation_date: str | None = None
    notes: str | None = None
    transcribed: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        return f"{self.provider}/{self.model}"

    def per_mtok(self, name: str) -> Decimal | None:
        """One of PRICE_FIELDS."""
        value: Decimal | None = getattr(self, name)
        return value

    def per_token(self, name: str) -> Decimal | None:
        """One of PRICE_FIELDS, per token: the per-Mtok price / 10^6, exact."""
        value = self.per_mtok(name)
        return None if value is None else per_mtok_to_per_token(value)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"provider": self.provider, "model": self.model, "key": self.key}
        for name in PRICE_FIELDS:
            value = self.per_mtok(name)
            if value is not None:
                out[name] = str(plain(value))
        out["context_window"] = self.context_window
        if self.max_output_tokens is not None:
            out["max_output_tokens"] = self.max_output_tokens
        out["kind"] = self.kind
        if self.aliases:
            out["aliases"] = list(self.aliases)
        if self.deprecation_date:
            out["deprecation_date"] = self.deprecation_date
        if self.notes:
            out["notes"] = self.notes
        out["source"] = self.source
        out["checked"] = self.checked
        return out


@dataclass(frozen=True, slots=True)
class Match:
    """A lookup's answer: the row, and how the name reached it (`exact`, `alias` or `undated`:
    the name without its version suffix)."""

    row: PriceRow
    how: str
    query: str

    def to_json(self) -> dict[str, Any]:
        return {"query": self.query, "match": self.how, "model": self.row.to_json()}


class PriceCatalog:
    def __init__(self, rows: list[PriceRow], *, version: str, header: dict[str, Any] | None = None) -> None:
        self.version = version
        self.header = dict(header or {})
        self.rows = tuple(rows)
        self._providers = tuple(sorted({row.provider for row in self.rows}))
        self._by_name: dict[tuple[str, str], tuple[PriceRow, str]] = {}
        undated_rows: dict[tuple[str, str], list[PriceRow]] = {}
        for row in self.rows:
            self._by_name[(row.provider, row.model)] = (row, "exact")
        for row in self.rows:
            for alias in row.aliases:
                self._by_name.setdefault((row.provider, alias), (row, "alias"))
            base = undated(row.model)
            if base is not None:
                undated_rows.setdefault((row.provider, base), []).append(row)
        # a name without version suffix that has no row of its own means the newest dated row
        for name, rows_of in undated_rows.items():
            if name not in self._by_name:
                self._by_name[name] = (max(rows_of, key=lambda r: version_rank(r.model)), "alias")

    @property
    def priced_by(self) -> str:
        return f"catalog:{self.version}"

    def __len__(self) -> int:
        return len(self.rows)

    def providers(self) -> tuple[str, ...]:
        return self._providers

    def lookup(self, model: str, api_format: str | None = None) -> Match | None:
        """The row `model` means, or None. A `provider/` prefix names the only provider searched;
        otherwise the provider `api_format` points at comes first, then the others. Exact names and
        aliases at every provider are tried before names without their version suffix."""
        prefix, name = split_provider(model)
        head, sep, rest = name.partition("/")
        if prefix is None and sep and rest and head in self._providers:  # a provider only an operator row has
            prefix, name = head, rest
        if prefix is not None:
            order: tuple[str, ...] = (prefix,)
        else:
            first = FORMAT_PROVIDER.get(api_format or "")
            order = tuple(dict.fromkeys([p for p in (first,) if p] + [*PROVIDERS, *self._providers]))
        for provider in order:
            found = self._by_name.get((provider, name))
            if found is not None:
                return Match(found[0], found[1], model)
        base = undated(name)
        while base is not None:
            for provider in order:
                found = self._by_name.get((provider, base))
                if found is not None:
                    return Match(found[0], "undated", model)
            base = undated(base)
        return None

    def to_json(self, rows: list[PriceRow] | None = None) -> dict[str, Any]:
        shown = self.rows if rows is None else rows
        return {"version": self.version, **self.header, "count": len(shown), "models": [r.to_json() for r in shown]}


# --- reading catalog files ----------------------------------------------------------------------


def _price(value: Any, where: str) -> Decimal:
    """A price: a decimal string, an integer, or a number (a YAML float is read by its shortest
    repr, as a registration's JSON number is: 2.5 -> 2.5)."""
    try:
        price = to_decimal(value, field=where)
    except MoneyError as exc:
        raise PriceCatalogError(str(exc)) from None
    if price > MAX_PER_MTOK:
        raise PriceCatalogError(f"{where} must be at most {MAX_PER_MTOK} per million tokens")
    return price


def _tokens(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CONTEXT:
        raise PriceCatalogError(f"{where} must be a whole number of tokens from 1 to {MAX_CONTEXT:,}")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PriceCatalogError(f"{where} must be a non-empty string")
    return value.strip()


def _row_fields(data: Any, where: str) -> dict[str, Any]:
    """A row's fields, parsed; a field set to null is kept as None (it removes an override's
    optional price)."""
    if not isinstance(data, dict):
        raise PriceCatalogError(f"{where} must be an object")
    unknown = sorted(set(data) - ROW_FIELDS)
    if unknown:
        raise PriceCatalogError(f"{where} has unknown fields {unknown}; a row carries {sorted(ROW_FIELDS)}")
    out: dict[str, Any] = {}
    for name, value in data.items():
        at = f"{where}.{name}"
        if name in ("provider", "model"):
            out[name] = _text(value, at).lower()
        elif value is None and name in ("input_per_mtok", "output_per_mtok", "context_window"):
            raise PriceCatalogError(f"{at} cannot be removed: every row has its input and output prices and "
                                    "context window")
        elif name in PRICE_FIELDS:
            out[name] = None if value is None else _price(value, at)
        elif name in ("context_window", "max_output_tokens"):
            out[name] = None if value is None else _tokens(value, at)
        elif name == "aliases":
            if not isinstance(value, list):
                raise PriceCatalogError(f"{at} must be a list of model names")
            out[name] = tuple(_text(a, f"{at}.{i}").lower() for i, a in enumerate(value))
        elif name == "transcribed":
            if not isinstance(value, dict):
                raise PriceCatalogError(f"{at} must be an object")
            out[name] = {k: str(v) if isinstance(v, Decimal) else v for k, v in value.items()}
        else:
            out[name] = None if value is None and name in ("deprecation_date", "notes") else _text(value, at)
    if "provider" in out and not out["provider"].replace("_", "").isalnum():
        raise PriceCatalogError(f"{where}.provider must be a provider name such as openai, not {out['provider']!r}")
    return out


def _new_row(fields: dict[str, Any], where: str, source: str, checked: str) -> PriceRow:
    for name in ("provider", "model", "input_per_mtok", "output_per_mtok", "context_window"):
        if fields.get(name) is None:
            raise PriceCatalogError(f"{where}.{name} is required for a model the catalog does not have")
    fields = {"source": source, "checked": checked, **fields}
    row = PriceRow(**fields)
    _check_row(row, where)
    return row


def _check_row(row: PriceRow, where: str) -> None:
    if row.max_output_tokens is not None and row.max_output_tokens > row.context_window:
        raise PriceCatalogError(f"{where}.max_output_tokens cannot exceed context_window")


def _read_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PriceCatalogError(f"price catalog {path}: cannot be read ({exc.strerror or exc})") from None
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text, parse_float=Decimal), text
        return yaml.safe_load(text), text
    except (ValueError, yaml.YAMLError) as exc:
        raise PriceCatalogError(f"price catalog {path}: not valid {path.suffix.lstrip('.') or 'YAML'}: {exc}") from None


def _models(doc: Any, name: str) -> list[Any]:
    if not isinstance(doc, dict) or not isinstance(doc.get("models"), list):
        raise PriceCatalogError(f"price catalog {name}: must be an object with a `models` list of rows")
    return doc["models"]


def parse_catalog(doc: Any, name: str = "catalog.json") -> PriceCatalog:
    """A whole catalog (the shipped file's shape): every row complete."""
    if not isinstance(doc, dict) or not isinstance(doc.get("version"), str):
        raise PriceCatalogError(f"price catalog {name}: must name its `version`")
    rows, seen = [], set()
    for i, data in enumerate(_models(doc, name)):
        where = f"price catalog {name}: models.{i}"
        fields = _row_fields(data, where)
        for required in ("source", "checked"):
            if required not in fields:
                raise PriceCatalogError(f"{where}.{required} is required")
        row = _new_row(fields, where, fields["source"], fields["checked"])
        if row.key in seen:
            raise PriceCatalogError(f"{where}: {row.key} is listed twice")
        seen.add(row.key)
        rows.append(row)
    header = {k: doc[k] for k in ("checked", "method", "sources", "currency", "unit") if k in doc}
    return PriceCatalog(rows, version=doc["version"], header=header)


def with_overrides(base: PriceCatalog, doc: Any, name: str, digest: str) -> PriceCatalog:
    """`base` with an operator's rows: a row for a provider/model the catalog has replaces the
    fields it gives (null removes an optional price); any other row is added and must give its
    prices and context window. The version becomes `<base>+<the file's version>` (or
    `+local-<digest>` when the file names none)."""
    version = doc.get("version") if isinstance(doc, dict) else None
    if version is not None and (isinstance(version, bool | dict | list) or not str(version).strip()):
        raise PriceCatalogError(f"price catalog {name}: `version` must be a string")
    local = str(version).strip() if version is not None else f"local-{digest[:8]}"  # YAML dates read as dates
    source, checked = f"operator file {name}", f"operator file {name}, version {local}"
    rows = {row.key: row for row in base.rows}
    seen = set()
    for i, data in enumerate(_models(doc, name)):
        where = f"price catalog {name}: models.{i}"
        fields = _row_fields(data, where)
        if "provider" not in fields or "model" not in fields:
            raise PriceCatalogError(f"{where}: provider and model are required")
        key = f"{fields['provider']}/{fields['model']}"
        if key in seen:
            raise PriceCatalogError(f"{where}: {key} is listed twice")
        seen.add(key)
        if key in rows:
            changed = {"source": source, "checked": checked, "transcribed": {}, **fields}
            row = replace(rows[key], **changed)
            _check_row(row, where)
            rows[key] = row
        else:
            rows[key] = _new_row(fields, where, source, checked)
    header = {**base.header, "operator_file": name}
    return PriceCatalog(list(rows.values()), version=f"{base.version}+{local}", header=header)


_SHIPPED: PriceCatalog | None = None


def shipped_catalog() -> PriceCatalog:
    """The catalog inside the package (read once)."""
    global _SHIPPED
    if _SHIPPED is None:
        text = resources.files("services.common.pricing").joinpath("catalog.json").read_text(encoding="utf-8")
        _SHIPPED = parse_catalog(json.loads(text, parse_float=Decimal))
    return _SHIPPED


def load_catalog(path: Path | None = None) -> PriceCatalog:
    """The shipped catalog, with the operator's file (`TOLLWAY_PRICE_CATALOG`) over it when given."""
    base = shipped_catalog()
    if path is None:
        return base
    doc, text = _read_file(path)
    return with_overrides(base, doc, str(path), hashlib.sha256(text.encode()).hexdigest())
