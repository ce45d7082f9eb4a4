"""Filtering the provider list: by model, minimum context window, required features, and
whether soft-deleted providers are shown (`GET /providers?model=&min_context=&feature=`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from starlette.datastructures import QueryParams

from services.common.errors import InvalidRequest
from services.common.registry.provider import Provider, normalise_features
from services.router.params import bool_param, int_param, reject_unknown, single

QUERY_NAMES = ("model", "min_context", "feature", "include_inactive")


@dataclass(frozen=True, slots=True)
class ProviderFilter:
    model: str | None = None
    min_context: int = 0
    features: frozenset[str] = frozenset()
    include_inactive: bool = False

    def matches(self, provider: Provider) -> bool:
        return ((self.include_inactive or provider.active)
                and (self.model is None or provider.model == self.model)
                and provider.context_window >= self.min_context
                and self.features <= provider.features)


def filter_from_query(params: QueryParams) -> ProviderFilter:
    reject_unknown(params, QUERY_NAMES)
    model = single(params, "model")
    if model is not None and not model.strip():
        raise InvalidRequest("model must not be empty", field="model")
    features = params.getlist("feature")
    if any(not f.strip() for f in features):
        raise InvalidRequest("feature must not be empty", field="feature")
    return ProviderFilter(model=model, min_context=int_param(params, "min_context") or 0,
                          features=normalise_features([f.strip() for f in features]),
                          include_inactive=bool_param(params, "include_inactive") or False)


def apply(providers: Iterable[Provider], wanted: ProviderFilter) -> list[Provider]:
    return [p for p in providers if wanted.matches(p)]
