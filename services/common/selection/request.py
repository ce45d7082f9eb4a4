"""What a selection is asked: requirements, the optimisation, and the token estimates."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.common.registry.provider import normalise_features
from services.common.selection.estimate import DEFAULT_INPUT_TOKENS, DEFAULT_OUTPUT_TOKENS

OPTIMIZATIONS = ("cost", "latency", "balanced")


@dataclass(frozen=True, slots=True)
class Requirements:
    model: str | None = None
    context_window: int = 0
    features: frozenset[str] = frozenset()
    provider: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Requirements:
        data = data or {}
        return cls(model=data.get("model"), context_window=int(data.get("context_window") or 0),
                   features=normalise_features(data.get("features") or ()),
                   provider=data.get("provider"))


@dataclass(frozen=True, slots=True)
class SelectionRequest:
    requirements: Requirements = field(default_factory=Requirements)
    optimization: str = "cost"
    input_tokens: int = DEFAULT_INPUT_TOKENS
    output_tokens: int = DEFAULT_OUTPUT_TOKENS
    exclude: frozenset[str] = frozenset()

    @classmethod
    def from_json(cls, data: dict[str, Any], default_optimization: str = "cost") -> SelectionRequest:
        """From a validated selection_request.schema.json body."""
        return cls(
            requirements=Requirements.from_json(data.get("requirements")),
            optimization=data.get("optimization") or default_optimization,
            input_tokens=int(data.get("estimated_input_tokens", DEFAULT_INPUT_TOKENS)),
            output_tokens=int(data.get("max_output_tokens", DEFAULT_OUTPUT_TOKENS)),
            exclude=frozenset(data.get("exclude") or ()),
        )
