"""Identifiers: request ids, and the one safe-id rule for ids that become file names or keys.

The rule is `safe_id` in contracts/definitions.schema.json, which every contract's run, request,
hold, lease, key and scope id refers to; this module compiles that same pattern, so the code's
checks (headers, path parameters, receipt files) and the contracts cannot disagree.
"""

from __future__ import annotations

import os
import re
from typing import Any

from services.common import contracts
from services.common.errors import InvalidRequest

# the keywords the compiled pattern stands for; a keyword added to the definition that is not
# here (a maxLength ...) would be a second half of the rule this module does not check
_ENFORCED = {"type", "pattern"}
_NOTES = {"description", "$comment", "title"}
# an unescaped '$': JSON Schema (ECMA-262) ends the string there; Python's '$' also matches before
# a final '\n', so it becomes '\Z' (as fastjsonschema, which compiles the contracts, does too)
_DOLLAR = re.compile(r"(?<!\\)\$")


def compile_safe_id(definition: dict[str, Any]) -> re.Pattern[str]:
    """The Python regex of a `safe_id`-like definition: a string type and one pattern, nothing else."""
    extra = set(definition) - _ENFORCED - _NOTES
    if definition.get("type") != "string" or not isinstance(definition.get("pattern"), str) or extra:
        raise RuntimeError(f"the safe_id definition must be a string type with one pattern; it has {sorted(extra)}")
    return re.compile(_DOLLAR.sub(r"\\Z", definition["pattern"]))


SAFE_ID_DEFINITION: dict[str, Any] = contracts.raw_schema("definitions")["definitions"]["safe_id"]
SAFE_ID = compile_safe_id(SAFE_ID_DEFINITION)
SAFE_ID_RULE: str = SAFE_ID_DEFINITION.get("description") or f"match {SAFE_ID_DEFINITION['pattern']}"


def is_safe_id(value: object) -> bool:
    """A run id becomes a file name: contracts/definitions.schema.json's `safe_id` (1 to 128 of
    [A-Za-z0-9._-], not '.', no '..')."""
    return isinstance(value, str) and SAFE_ID.match(value) is not None


def safe_id_message(field: str) -> str:
    """What a 400 for an unsafe id says."""
    return f"{field} must be {SAFE_ID_RULE}"


def new_request_id() -> str:
    return "req-" + os.urandom(12).hex()


def require_safe_id(value: str, field: str) -> str:
    """`value` if it is a safe id, else a 400 naming `field`."""
    if not is_safe_id(value):
        raise InvalidRequest(safe_id_message(field), field=field)
    return value
