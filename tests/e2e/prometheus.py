"""Scraping a service's `GET /metrics` in e2e tests, parsed with prometheus-client's own parser."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families


class Scrape:
    def __init__(self, text: str) -> None:
        self.samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                self.samples[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def value(self, name: str, **labels: str) -> float:
        """The sample with exactly these labels; 0 when there is none (a counter not yet counted)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def gain(self, before: Scrape, name: str, **labels: str) -> float:
        """How much the sample with these labels moved since `before`."""
        return self.value(name, **labels) - before.value(name, **labels)

    def total(self, name: str, **labels: str) -> float:
        """The sum over every sample of `name` that has (at least) these labels."""
        want = set(labels.items())
        return sum(v for (n, ls), v in self.samples.items() if n == name and want <= ls)


def scrape(base_url: str, headers: dict[str, str] | None = None) -> Scrape:
    resp = httpx.get(base_url + "/metrics", headers=headers or {}, timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain"), resp.headers
    return Scrape(resp.text)
