"""JSON Schema contracts (`contracts/*.schema.json`): loading, `$ref` inlining, fast validators.

Services validate what they receive with compiled validators (fastjsonschema); a failure becomes
an `InvalidRequest` naming the offending field.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
import orjson

from services.common.errors import InvalidRequest

CONTRACTS_DIR = Path(os.environ.get("TOLLWAY_CONTRACTS_DIR", Path(__file__).resolve().parents[2] / "contracts"))


@cache
def raw_schema(name: str) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads((CONTRACTS_DIR / f"{name}.schema.json").read_bytes())
    return data


def _pointer(doc: dict[str, Any], pointer: str) -> Any:
    node: Any = doc
    for part in pointer.lstrip("/").split("/"):
        if part:
            node = node[part]
    return node


# what a "$ref" may carry beside it and keep once inlined: annotations, never a constraint (draft-07
# ignores a $ref's siblings when validating, and so does the inlined schema)
_ANNOTATIONS = ("title", "description")


def _inline(node: Any, root: dict[str, Any]) -> Any:
    """`node` with every `$ref` replaced by what it points at: `#/...` in `root`, or
    `<name>.schema.json#/...` in another contract (e.g. definitions.schema.json's shared `safe_id`)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            target_file, _, pointer = ref.partition("#")
            doc = raw_schema(target_file.removesuffix(".schema.json")) if target_file else root
            target = _inline(_pointer(doc, pointer), doc)
            notes = {k: node[k] for k in _ANNOTATIONS if k in node}
            return {**target, **notes} if notes and isinstance(target, dict) else target
        return {k: _inline(v, root) for k, v in node.items() if k != "definitions"}
    if isinstance(node, list):
        return [_inline(v, root) for v in node]
    return node


@cache
def schema(name: str) -> dict[str, Any]:
    """The named contract with every `$ref` inlined (self-contained, for any validator)."""
    root = raw_schema(name)
    inlined: dict[str, Any] = _inline(root, root)
    return inlined


@cache
def _validator(name: str) -> Any:
    return fastjsonschema.compile(schema(name), use_default=False)


def _field(exc: fastjsonschema.JsonSchemaValueException) -> str | None:
    path = [str(p) for p in (exc.path or [])[1:]]
    return ".".join(path) or None


def validate(name: str, data: Any) -> Any:
    """Validate `data` against contract `name`; raise InvalidRequest with the field on failure."""
    try:
        return _validator(name)(data)
    except fastjsonschema.JsonSchemaValueException as exc:
        field = _field(exc)
        message = exc.message.replace("data.", "").replace("data ", "body ")
        raise InvalidRequest(message, field=field) from None
