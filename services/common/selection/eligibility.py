"""Which providers can serve a request at all, and why the others cannot."""

from __future__ import annotations

from collections.abc import Iterable

from services.common.registry.provider import Provider
from services.common.selection.request import SelectionRequest


def why_not(provider: Provider, request: SelectionRequest) -> str | None:
    """The reason `provider` cannot serve `request`, or None when it can."""
    req = request.requirements
    if not provider.active:
        return "inactive"
    if provider.name in request.exclude:
        return "excluded by the caller"
    if req.provider and provider.name != req.provider:
        return f"not the pinned provider {req.provider}"
    if req.model and provider.model != req.model:
        return f"serves {provider.model}, not {req.model}"
    needed = max(req.context_window, request.input_tokens + request.output_tokens)
    if provider.context_window < needed:
        return f"context window {provider.context_window} < {needed} tokens needed"
    missing = req.features - provider.features
    if missing:
        return "lacks " + ", ".join(sorted(missing))
    return None


def partition(providers: Iterable[Provider],
              request: SelectionRequest) -> tuple[list[Provider], list[tuple[str, str]]]:
    eligible: list[Provider] = []
    excluded: list[tuple[str, str]] = []
    for p in providers:
        reason = why_not(p, request)
        if reason is None:
            eligible.append(p)
        else:
            excluded.append((p.name, reason))
    return eligible, excluded
