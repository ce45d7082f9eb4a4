"""Which environment variables a provider's `api_key_env` may name, and reading a key from one.

A registration names the variable that holds its key; the gateway (and the router's health
probes) send that variable's value to the provider's endpoint. So the name must be one the
operator allowed, or anyone who may register a provider could have any secret in the services'
environment sent to an endpoint of their choosing.

`TOLLWAY_API_KEY_ENV_ALLOW` is a comma-separated list of names or shell-style patterns (`*` any
run of characters), matched case-sensitively; its default, `DEFAULT_ALLOW`, is the usual provider
key names plus the dedicated prefix `TOLLWAY_PROVIDER_KEY_*`. Whatever the setting says, no other
`TOLLWAY_*` name (in any case: the services' own settings, the admin key) is ever allowed.

Every key read is remembered for redaction (services/common/redaction.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import TYPE_CHECKING

from services.common import redaction

if TYPE_CHECKING:
    from services.common.settings import Settings

DEDICATED_PREFIX = "TOLLWAY_PROVIDER_KEY_"  # a namespace of its own for provider keys
RESERVED_PREFIX = "TOLLWAY_"  # the services' own settings and secrets: never a provider key
DEFAULT_ALLOW = ",".join((
    "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "AZURE_OPENAI_API_KEY",
    "MISTRAL_API_KEY", "GROQ_API_KEY", "DEEPSEEK_API_KEY", "TOGETHER_API_KEY", "FIREWORKS_API_KEY",
    "OPENROUTER_API_KEY", "COHERE_API_KEY", "XAI_API_KEY", "PERPLEXITY_API_KEY", "CEREBRAS_API_KEY",
    "DEEPINFRA_API_KEY", DEDICATED_PREFIX + "*",
))


def reserved(name: str) -> bool:
    """A TOLLWAY_* name outside the provider-key prefix (case-insensitive, as settings are read)."""
    upper = name.upper()
    return upper.startswith(RESERVED_PREFIX) and not upper.startswith(DEDICATED_PREFIX)


@lru_cache(maxsize=4096)
def _allows(patterns: tuple[str, ...], name: str) -> bool:
    return not reserved(name) and any(fnmatchcase(name, p) for p in patterns)


@dataclass(frozen=True, slots=True)
class KeyEnvRule:
    patterns: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> KeyEnvRule:
        return cls(tuple(p.strip() for p in text.split(",") if p.strip()))

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyEnvRule:
        return cls.parse(settings.api_key_env_allow)

    def allows(self, name: str) -> bool:
        return _allows(self.patterns, name)  # asked on every upstream call: remembered

    def described(self) -> str:
        return ", ".join(self.patterns) or "none"

    def refusal(self, name: str) -> str | None:
        """Why `name` may not hold a provider key (naming what may), or None when it may."""
        if self.allows(name):
            return None
        why = "TOLLWAY_* variables are the services' own" if reserved(name) else "it is not allowed"
        return (f"api_key_env {name[:128]!r} cannot be used: {why}; allowed names (TOLLWAY_API_KEY_ENV_ALLOW): "
                f"{self.described()}")


class ProviderKeys(Mapping[str, str]):
    """The provider keys in an environment, under allowed names only; a name the rule refuses
    reads as absent. Every key read, and every allowed key present at the start, is remembered
    for redaction."""

    def __init__(self, rule: KeyEnvRule, environ: Mapping[str, str] | None = None) -> None:
        self.rule = rule
        self.environ = os.environ if environ is None else environ
        for name in self:
            redaction.remember(self.environ[name])

    def read(self, name: str) -> tuple[str | None, str | None]:
        """(key, problem): the key, or why there is none. The problem never holds a value."""
        refusal = self.rule.refusal(name)
        if refusal:
            return None, refusal + " (the gateway does not read it)"
        key = self.environ.get(name)
        if not key:
            return None, f"environment variable {name} is not set on the gateway"
        redaction.remember(key)
        return key, None

    def __getitem__(self, name: str) -> str:
        if not self.rule.allows(name):
            raise KeyError(name)
        key = self.environ[name]
        redaction.remember(key)
        return key

    def __iter__(self) -> Iterator[str]:
        return (name for name in list(self.environ) if self.rule.allows(name))

    def __len__(self) -> int:
        return sum(1 for _ in self)
