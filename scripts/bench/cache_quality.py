"""Precision and recall of the semantic cache on the labelled prompt pairs.

    python scripts/bench/cache_quality.py [--pairs tests/data/cache_pairs.jsonl ...] [--threshold 0.6] [--json]

Each pair is (cached prompt `a`, new prompt `b`, hit|miss, its kind, and optionally its domain).
The new prompt is served the cached answer when both are short enough for a semantic lookup, the
embeddings' cosine similarity reaches the threshold and the aligner finds every difference
harmless: the very decision `SemanticMatcher` takes for a candidate. Precision = right hits / all
hits served, with its 95 % Wilson interval; recall = right hits / pairs labelled hit. Prints the
result at the configured threshold, per kind and per domain, what the aligner refused, the wrong
hits, and a threshold sweep with and without the aligner. Exit status 1 when precision at the
configured threshold is below 0.99.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from services.gateway.cache.controls import CacheSettings  # noqa: E402
from services.gateway.cache.embedder import load_embedder  # noqa: E402
from services.gateway.cache.semantic import SemanticMatcher  # noqa: E402

PAIRS = Path(__file__).resolve().parents[2] / "tests" / "data" / "cache_pairs.jsonl"
MIN_PRECISION = 0.99


@dataclass(frozen=True)
class Scored:
    pair: dict
    similarity: float
    guard: str | None  # why the aligner refused the pair (or `long`), None when it allows it


@dataclass(frozen=True)
class Result:
    threshold: float
    precision: float
    recall: float
    served: int
    false_hits: int
    positives: int = 0

    @property
    def interval(self) -> tuple[float, float]:
        """95 % Wilson score interval of the precision."""
        return wilson(self.served - self.false_hits, self.served)


def wilson(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def load_pairs(*paths: Path) -> list[dict]:
    return [json.loads(line) for path in (paths or (PAIRS,))
            for line in path.read_text().splitlines() if line.strip()]


def score(pairs: list[dict], matcher: SemanticMatcher) -> list[Scored]:
    emb = matcher.embedder
    a = emb.embed([p["a"] for p in pairs])
    b = emb.embed([p["b"] for p in pairs])
    sims = (a * b).sum(axis=1)
    return [Scored(p, float(s), _decision(matcher, p)) for p, s in zip(pairs, sims, strict=True)]


def _decision(matcher: SemanticMatcher, pair: dict) -> str | None:
    if not (matcher.usable(pair["a"]) and matcher.usable(pair["b"])):
        return "long"  # the cache looks such prompts up exactly only
    return matcher.accepts(pair["b"], pair["a"])


def result(scored: list[Scored], threshold: float, guards: bool = True) -> Result:
    served = [s for s in scored if s.similarity >= threshold and (s.guard is None or not guards)]
    right = sum(1 for s in served if s.pair["label"] == "hit")
    positives = sum(1 for s in scored if s.pair["label"] == "hit")
    precision = right / len(served) if served else 1.0
    return Result(threshold, precision, right / positives if positives else 0.0, len(served), len(served) - right,
                  positives)


def breakdown(scored: list[Scored], threshold: float, field: str) -> dict[str, Result]:
    """The result per value of a pair's `kind` or `domain`."""
    groups: dict[str, list[Scored]] = {}
    for s in scored:
        groups.setdefault(str(s.pair.get(field, "-")), []).append(s)
    return {k: result(v, threshold) for k, v in sorted(groups.items())}


def summary(r: Result) -> dict:
    low, high = r.interval
    return {"precision": round(r.precision, 4), "precision_95": [round(low, 4), round(high, 4)],
            "recall": round(r.recall, 4), "served": r.served, "false_hits": r.false_hits, "positives": r.positives}


def main() -> int:
    settings = CacheSettings()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=Path, nargs="+", default=[PAIRS])
    ap.add_argument("--threshold", type=float, default=settings.semantic_threshold)
    ap.add_argument("--model", default="wordllama", help="the embedding model (services/gateway/cache/embedder.py)")
    ap.add_argument("--show-refused", action="store_true", help="list the paraphrases the aligner refused")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    embedder = load_embedder(args.model)
    load_s = time.perf_counter() - t0
    matcher = SemanticMatcher(embedder, threshold=args.threshold, max_chars=settings.semantic_max_chars)
    pairs = load_pairs(*args.pairs)
    scored = score(pairs, matcher)
    at = result(scored, args.threshold)
    sweep = [(t / 100, result(scored, t / 100), result(scored, t / 100, guards=False)) for t in range(40, 100, 5)]
    kinds, domains = breakdown(scored, args.threshold, "kind"), breakdown(scored, args.threshold, "domain")
    if args.json:
        print(json.dumps({"model": embedder.name, "pairs": len(pairs), "threshold": at.threshold, **summary(at),
                          "kinds": {k: summary(r) for k, r in kinds.items()},
                          "domains": {k: summary(r) for k, r in domains.items()},
                          "sweep": [{"threshold": t, "precision": g.precision, "recall": g.recall,
                                     "precision_no_guards": n.precision, "recall_no_guards": n.recall}
                                    for t, g, n in sweep]}))
        return 0 if at.precision >= MIN_PRECISION else 1
    labels = Counter(p["label"] for p in pairs)
    print(f"model {embedder.name} (loaded in {load_s:.2f} s); {len(pairs)} pairs: {labels['hit']} should hit, "
          f"{labels['miss']} near misses")
    low, high = at.interval
    print(f"\nAt threshold {at.threshold:.2f}: precision {at.precision:.3f} (95 % CI {low:.3f}-{high:.3f}), "
          f"recall {at.recall:.3f} ({at.served} served, {at.false_hits} wrong)")
    for field, groups in (("kind", kinds), ("domain", domains)):
        if len(groups) < 2:
            continue
        print(f"\n| {field} | pairs | should hit | served | wrong | precision (95 % CI) | recall |")
        print("|---|---|---|---|---|---|---|")
        for name, r in groups.items():
            n = sum(1 for s in scored if str(s.pair.get(field, "-")) == name)
            lo, hi = r.interval
            print(f"| {name} | {n} | {r.positives} | {r.served} | {r.false_hits} | {r.precision:.3f} "
                  f"({lo:.3f}-{hi:.3f}) | {r.recall:.3f} |")
    stopped = Counter(s.guard for s in scored if s.pair["label"] == "miss" and s.guard)
    below = sum(1 for s in scored if s.pair["label"] == "miss" and not s.guard and s.similarity < at.threshold)
    print(f"\nnear misses refused: {dict(stopped.most_common())}, below threshold: {below}")
    lost = Counter(s.guard for s in scored if s.pair["label"] == "hit" and s.guard)
    print(f"paraphrases refused (recall lost): {dict(lost.most_common())}")
    for s in scored:
        if s.pair["label"] == "miss" and s.similarity >= at.threshold and not s.guard:
            print(f"  WRONG HIT {s.similarity:.3f} [{s.pair['kind']}] {s.pair['a']!r} ~ {s.pair['b']!r}")
        if args.show_refused and s.pair["label"] == "hit" and (s.guard or s.similarity < at.threshold):
            print(f"  refused ({s.guard or 'similarity'}) {s.similarity:.3f} {s.pair['a']!r} ~ {s.pair['b']!r}")
    print("\n| threshold | precision | recall | served | precision, no aligner | recall, no aligner |")
    print("|---|---|---|---|---|---|")
    for t, g, n in sweep:
        mark = " **(default)**" if abs(t - settings.semantic_threshold) < 1e-9 else ""
        print(f"| {t:.2f}{mark} | {g.precision:.3f} | {g.recall:.3f} | {g.served} "
              f"| {n.precision:.3f} | {n.recall:.3f} |")
    return 0 if at.precision >= MIN_PRECISION else 1


if __name__ == "__main__":
    raise SystemExit(main())
