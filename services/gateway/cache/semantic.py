"""A semantic lookup: embed the prompt, take the nearest entries of its scope above the
threshold, and serve the first one whose every difference from the prompt the aligner
(services/gateway/cache/aligner.py) knows to be harmless."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from services.gateway.cache.aligner import Prompt, why_not
from services.gateway.cache.embedder import Embedder
from services.gateway.cache.entry import Entry
from services.gateway.cache.store import CacheStore


@dataclass(slots=True)
class Match:
    entry: Entry
    similarity: float


@lru_cache(maxsize=4096)
def parse(text: str) -> Prompt:
    """A stored prompt, read once however often it is a candidate (the read is half a lookup's CPU)."""
    prompt = Prompt(text)
    prompt.tokens  # noqa: B018 - computed now, while the cache holds it
    return prompt


class SemanticMatcher:
    def __init__(self, embedder: Embedder, *, threshold: float = 0.60, candidates: int = 4,
                 max_chars: int = 2000) -> None:
        self.embedder = embedder
        self.threshold = threshold
        self.candidates = candidates
        self.max_chars = max_chars
        self.rejections: Counter[str] = Counter()

    def usable(self, prompt: str | None) -> bool:
        """Long prompts (a document to summarise) hide small differences in one vector: exact only."""
        return prompt is not None and 0 < len(prompt) <= self.max_chars

    def vector(self, prompt: str) -> np.ndarray:
        return self.embedder.embed([prompt])[0]

    def accepts(self, prompt: str, cached_prompt: str, parsed: Prompt | None = None) -> str | None:
        """None when the cached prompt may answer this one, else why not (the aligner's reason)."""
        return why_not(parsed or Prompt(prompt), parse(cached_prompt))

    async def find(self, store: CacheStore, tenant: str, scope: str, prompt: str, vector: np.ndarray,
                   now: float, threshold: float | None = None) -> Match | None:
        parsed = Prompt(prompt)
        limit = self.threshold if threshold is None else threshold
        for entry, sim in await store.nearest(scope, vector, self.candidates, limit, now):
            if entry.tenant != tenant or entry.scope != scope or entry.prompt is None:
                continue  # never another tenant's entry, whatever a backend returns
            reason = self.accepts(prompt, entry.prompt, parsed)
            if reason is None:
                return Match(entry, sim)
            self.rejections[reason] += 1
        return None
