"""The routing configuration file (`TOLLWAY_ROUTING_CONFIG`, YAML), loaded when the router
starts: every entry it declares is written over the stored one of the same name (so the file
wins for what it names); entries added through the API that it does not name are kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from services.common.errors import InvalidRequest
from services.router.routing.validate import validate_config
from services.router.store.routing_sqlite import Entry, entries


class RoutingFileError(RuntimeError):
    """The routing configuration file cannot be used; the router does not start."""


def read_routing_file(path: Path) -> list[Entry]:
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RoutingFileError(f"cannot read TOLLWAY_ROUTING_CONFIG={path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise RoutingFileError(f"TOLLWAY_ROUTING_CONFIG={path} is not valid YAML: {exc}") from None
    data = {} if data is None else data
    try:
        validate_config(data)
    except InvalidRequest as exc:
        where = f" at {exc.field}" if exc.field else ""
        raise RoutingFileError(f"TOLLWAY_ROUTING_CONFIG={path}{where}: {exc.message}") from None
    return entries(data)
