"""Files the command line reads: one JSON or YAML document (providers, alert rules, channels)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from services.cli.client import UsageError
from services.common import jsonio


def read_document(path: Path) -> Any:
    """The JSON or YAML document in `path` (a usage error when it cannot be read or parsed)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return jsonio.loads_exact(text) if path.suffix == ".json" else yaml.safe_load(text)
    except Exception as exc:  # noqa: BLE001 - yaml and json raise their own kinds
        raise UsageError(f"{path} is neither JSON nor YAML: {str(exc).splitlines()[0]}") from None
