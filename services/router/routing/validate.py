"""Checking routing configuration bodies against their contracts (one per kind, and the whole
config), plus what the contracts cannot say (config.check_entry; no alias resolving to itself
through other aliases, config.check_alias). Failures are 400s naming the field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from services.common import contracts
from services.common.errors import InvalidRequest
from services.common.selection.config import KINDS, check_alias, check_entry

KIND_CONTRACTS = {"aliases": "routing_alias", "routes": "routing_route", "rules": "routing_rule",
                  "experiments": "routing_experiment"}
NAME = re.compile(contracts.raw_schema("routing_config")["definitions"]["name"]["pattern"])


def require_name(name: str) -> str:
    if not NAME.match(name):
        raise InvalidRequest("a routing entry's name must match [A-Za-z0-9][A-Za-z0-9._:-]{0,127}", field="name")
    return name


def validate_entry(kind: str, name: str, body: Any) -> None:
    require_name(name)
    if not isinstance(body, dict):
        raise InvalidRequest("request body must be a JSON object")
    contracts.validate(KIND_CONTRACTS[kind], body)
    check_entry(kind, name, body)


def validate_config(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidRequest("a routing configuration must be an object (mapping)")
    contracts.validate("routing_config", body)
    for kind in KINDS:
        for name, entry in (body.get(kind) or {}).items():
            try:
                check_entry(kind, name, entry)
            except InvalidRequest as exc:
                raise InvalidRequest(exc.message, field=f"{kind}.{name}.{exc.field or ''}".rstrip(".")) from None
    check_alias(alias_models(body), field="aliases.{name}.models")
    return body


def alias_models(config: Mapping[str, Any]) -> dict[str, list[str]]:
    """A routing_config body's aliases: name -> the models (or aliases) it stands for."""
    return {name: entry["models"] for name, entry in (config.get("aliases") or {}).items()}


def check_alias_among(stored: Mapping[str, Any], name: str, body: Mapping[str, Any]) -> None:
    """An alias `name` put beside the stored configuration's aliases must not come back to itself
    through them (a cycle elsewhere, already stored, is not this entry's fault)."""
    check_alias({**alias_models(stored), name: body["models"]}, name, field="models")
