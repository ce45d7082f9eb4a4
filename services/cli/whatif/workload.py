"""The workloads the simulator replays: synthetic (seeded: a mix of simple, medium and complex
requests, some with images or tools) or the token counts of a receipts file (LDJSON)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.common import jsonio

SIMPLE = ["What is the capital of {x}?", "Translate 'good morning' into {x}.", "Summarise this note in one line: {x}",
          "Give me three names for a {x} shop.", "Is {x} a fruit or a vegetable?"]
MEDIUM = ["Compare {x} and its main alternative for a small team.", "Fix this:\n```python\nprint({x}\n```",
          "Explain why {x} is slow and how to speed it up.", "Write a function that parses {x} dates."]
COMPLEX = ["Prove step by step that the {x} algorithm terminates, then analyze its complexity:\n```python\n"
           "def solve(xs):\n    return sorted(xs)\n```",
           "Plan the architecture of a {x} service, compare three designs and their trade-offs, and derive the cost."]
WORDS = ["France", "Kenya", "sourdough", "Rust", "tomato", "billing", "ISO-8601", "quicksort", "ledger"]
MIX = (("simple", 0.6, SIMPLE, (40, 400), (50, 300)), ("medium", 0.3, MEDIUM, (300, 1500), (200, 800)),
       ("complex", 0.1, COMPLEX, (1500, 6000), (600, 2000)))


@dataclass(frozen=True, slots=True)
class Job:
    """One request to replay: what it asks, its size, and how long its answer really is."""

    payload: dict[str, Any]
    input_tokens: int
    max_tokens: int
    output_tokens: int  # what the answer will use (at most max_tokens)
    key: str
    model: str | None = None
    kind: str = "receipt"
    meta: dict[str, Any] = field(default_factory=dict)
    cache_read_input_tokens: int = 0  # of input_tokens, read from the provider's prompt cache
    cache_creation_input_tokens: int = 0  # of input_tokens, written to it
    cache_creation_1h_input_tokens: int = 0  # of the writes, kept for an hour


def synthetic(n: int, seed: int, model: str | None = None) -> list[Job]:
    rng = random.Random(seed)
    jobs = []
    for _ in range(n):
        kind, _, texts, in_range, out_range = _pick(rng)
        text = rng.choice(texts).format(x=rng.choice(WORDS))
        content: Any = text
        if rng.random() < 0.08:  # an image to look at: needs vision
            content = [{"type": "text", "text": text}, {"type": "image_url", "image_url": {"url": "data:,"}}]
        payload: dict[str, Any] = {"messages": [{"role": "user", "content": content}]}
        if kind != "simple" and rng.random() < 0.3:
            payload["tools"] = [{"type": "function", "function": {"name": "lookup"}}]
        max_tokens = rng.randint(*out_range)
        payload["max_tokens"] = max_tokens
        jobs.append(Job(payload, rng.randint(*in_range), max_tokens, rng.randint(max_tokens // 3, max_tokens),
                        key=f"user-{rng.randrange(200)}", model=model, kind=kind))
    return jobs


def _pick(rng: random.Random) -> tuple[Any, ...]:
    u, acc = rng.random(), 0.0
    for entry in MIX:
        acc += entry[1]
        if u < acc:
            return entry
    return MIX[-1]


def from_receipts(path: Path, model: str | None = None) -> list[Job]:
    """Every receipt's token counts, prompt-cache reads and writes (1-hour ones apart) included
    (failed and refused requests included, as asked)."""
    return list(_receipts(path, model))


def _receipts(path: Path, model: str | None) -> Iterator[Job]:
    with open(path, "rb") as fh:
        for line in fh:
            if not line.strip():
                continue
            r = jsonio.loads(line)
            out = max(int(r.get("output_tokens") or 0), 1)
            payload = {"messages": [{"role": "user", "content": ""}], "max_tokens": out}
            yield Job(payload, int(r.get("input_tokens") or 0), out, out,
                      key=str(r.get("key_id") or r.get("user") or r.get("agent") or "anonymous"), model=model,
                      cache_read_input_tokens=int(r.get("cache_read_input_tokens") or 0),
                      cache_creation_input_tokens=int(r.get("cache_creation_input_tokens") or 0),
                      cache_creation_1h_input_tokens=int(r.get("cache_creation_1h_input_tokens") or 0))
