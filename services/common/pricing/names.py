"""How a model name a caller writes maps to a catalog row's name: plain functions.

- `split_provider("openai/gpt-4o")` -> ("openai", "gpt-4o"): a leading segment that names a catalog
  provider (or one of its other spellings: `google/`, `azure_openai/`...) is the provider; any other
  slash stays in the name (Groq's `meta-llama/llama-4-scout-17b-16e-instruct`). Gemini's
  `models/` prefix is dropped.
- `undated("gpt-4o-2024-08-06")` -> "gpt-4o": the name without its version suffix, or None when it
  has none. The suffixes are the providers' own: OpenAI's `-2024-08-06` and `-0613`, Anthropic's
  `-20250219` (and Vertex's `@20250219`), Mistral's `-2411`, Gemini's `-001`, and `-latest`.
"""

from __future__ import annotations

import re

PROVIDERS = ("openai", "anthropic", "gemini", "azure", "mistral", "groq", "deepseek")
# other spellings of a provider in a model name's prefix
PREFIXES = {**{p: p for p in PROVIDERS}, "google": "gemini", "google_ai": "gemini", "azure_openai": "azure",
            "mistralai": "mistral"}
# which catalog provider a registration's wire format points at first (openai's format is also
# Groq's, Mistral's and DeepSeek's: no preference)
FORMAT_PROVIDER = {"azure": "azure", "anthropic": "anthropic", "gemini": "gemini"}

VERSION_SUFFIX = re.compile(
    r"(?:-\d{4}-\d{2}-\d{2}"  # OpenAI: gpt-4o-2024-08-06
    r"|[-@]\d{8}"  # Anthropic: claude-3-7-sonnet-20250219, Vertex: claude-3-7-sonnet@20250219
    r"|-\d{4}"  # OpenAI gpt-4-0613, Mistral mistral-large-2411
    r"|-00\d"  # Gemini: gemini-2.0-flash-001
    r"|-latest)$")


def normalised(name: str) -> str:
    return name.strip().lower()


def split_provider(name: str) -> tuple[str | None, str]:
    """(provider, model): the provider a `provider/` prefix names, else None, and the model name
    (lower case, Gemini's `models/` dropped)."""
    name = normalised(name)
    provider = None
    head, sep, rest = name.partition("/")
    if sep and head in PREFIXES and rest:
        provider, name = PREFIXES[head], rest
    if name.startswith("models/") and len(name) > len("models/"):
        name = name[len("models/"):]
    return provider, name


def undated(model: str) -> str | None:
    """The model name without its version suffix, or None when it carries none."""
    stripped = VERSION_SUFFIX.sub("", model)
    return stripped if stripped and stripped != model else None


def version_rank(model: str) -> tuple[int, str]:
    """Which of several rows sharing an undated name is the newest: `-latest` first, then the
    highest version suffix."""
    match = VERSION_SUFFIX.search(model)
    suffix = match.group(0) if match else ""
    return (1 if suffix == "-latest" else 0, suffix)
