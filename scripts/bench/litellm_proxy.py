"""LiteLLM's proxy as a comparison point: found on PATH or via `LITELLM_BIN` (the executable, or a
venv holding it), configured for the same mock with one worker and a master key."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

MASTER_KEY = "sk-bench-master"


def find_litellm() -> str | None:
    given = os.environ.get("LITELLM_BIN", "").strip()
    if given:
        path = Path(given)
        for candidate in (path, path / "bin" / "litellm"):
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
        return None
    return shutil.which("litellm")


def write_config(directory: Path, mock_url: str, model: str) -> Path:
    path = directory / "litellm.yaml"
    path.write_text(
        "model_list:\n"
        f"  - model_name: {model}\n"
        "    litellm_params:\n"
        f"      model: openai/{model}\n"
        f"      api_base: {mock_url}/v1\n"
        "      api_key: sk-unused\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
        "general_settings:\n"
        f"  master_key: {MASTER_KEY}\n")
    return path


def argv(binary: str, config: Path, port: int) -> list[str]:
    return [binary, "--config", str(config), "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"]
