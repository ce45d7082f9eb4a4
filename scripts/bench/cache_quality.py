"""Precision and recall of the semantic cache on the labelled prompt pairs.

    python scripts/bench/cache_quality.py [--pairs tests/data/cache_pairs.jsonl] [--threshold 0.6] [--json]

Each pair is (cached prompt, new prompt, hit|miss). The new prompt is served the cached answer
when the embeddings' cosine similarity reaches the threshold and every near-miss guard lets it
through: the very decision `SemanticMatcher` takes for a candidate. Precision = right hits / all
hits served; recall = right hits / pairs labelled hit. Prints the result at the configured
threshold, what the guards stopped, the misses that got through, and a threshold sweep with and
without the guards. Exit status 1 when precision at the configured threshold is below 0.99.
"""

from __future__ import annotations

import argparse
import json
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
    guard: str | None  # the guard that refused the pair, None when all let it through


@dataclass(frozen=True)
class Result:
    threshold: float
    precision: float
    recall: float
    served: int
    false_hits: int


def load_pairs(path: Path = PAIRS) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def score(pairs: list[dict], matcher: SemanticMatcher) -> list[Scored]:
    emb = matcher.embedder
    a = emb.embed([p["a"] for p in pairs])
    b = emb.embed([p["b"] for p in pairs])
    sims = (a * b).sum(axis=1)
    return [Scored(p, float(s), matcher.accepts(p["b"], p["a"])) for p, s in zip(pairs, sims, strict=True)]


def result(scored: list[Scored], threshold: float, guards: bool = True) -> Result:
    served = [s for s in scored if s.similarity >= threshold and (s.guard is None or not guards)]
    right = sum(1 for s in served if s.pair["label"] == "hit")
    positives = sum(1 for s in scored if s.pair["label"] == "hit")
    precision = right / len(served) if served else 1.0
    return Result(threshold, precision, right / positives if positives else 0.0, len(served), len(served) - right)


def main() -> int:
    settings = CacheSettings()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=Path, default=PAIRS)
    ap.add_argument("--threshold", type=float, default=settings.semantic_threshold)
    ap.add_argument("--word-threshold", type=float, default=settings.semantic_word_threshold)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    embedder = load_embedder()
    load_s = time.perf_counter() - t0
    matcher = SemanticMatcher(embedder, threshold=args.threshold, word_threshold=args.word_threshold)
    pairs = load_pairs(args.pairs)
    scored = score(pairs, matcher)
    at = result(scored, args.threshold)
    sweep = [(t / 100, result(scored, t / 100), result(scored, t / 100, guards=False)) for t in range(40, 100, 5)]
    if args.json:
        print(json.dumps({"model": embedder.name, "pairs": len(pairs), "threshold": at.threshold,
                          "precision": at.precision, "recall": at.recall, "false_hits": at.false_hits,
                          "sweep": [{"threshold": t, "precision": g.precision, "recall": g.recall,
                                     "precision_no_guards": n.precision, "recall_no_guards": n.recall}
                                    for t, g, n in sweep]}))
        return 0 if at.precision >= MIN_PRECISION else 1
    labels = Counter(p["label"] for p in pairs)
    print(f"model {embedder.name} (loaded in {load_s:.2f} s); {len(pairs)} pairs: {labels['hit']} should hit, "
          f"{labels['miss']} near misses; word threshold {args.word_threshold}")
    print(f"\nAt threshold {at.threshold:.2f}: precision {at.precision:.3f}, recall {at.recall:.3f} "
          f"({at.served} served, {at.false_hits} wrong)")
    stopped = Counter(s.guard for s in scored if s.pair["label"] == "miss" and s.guard)
    below = sum(1 for s in scored if s.pair["label"] == "miss" and not s.guard and s.similarity < at.threshold)
    print(f"near misses stopped: {dict(stopped.most_common())}, below threshold: {below}")
    lost = Counter(s.guard for s in scored if s.pair["label"] == "hit" and s.guard)
    print(f"paraphrases refused by a guard (recall lost): {dict(lost.most_common())}")
    for s in scored:
        if s.pair["label"] == "miss" and s.similarity >= at.threshold and not s.guard:
            print(f"  WRONG HIT {s.similarity:.3f} [{s.pair['kind']}] {s.pair['a']!r} ~ {s.pair['b']!r}")
    print("\n| threshold | precision | recall | served | precision, no guards | recall, no guards |")
    print("|---|---|---|---|---|---|")
    for t, g, n in sweep:
        mark = " **(default)**" if abs(t - settings.semantic_threshold) < 1e-9 else ""
        print(f"| {t:.2f}{mark} | {g.precision:.3f} | {g.recall:.3f} | {g.served} "
              f"| {n.precision:.3f} | {n.recall:.3f} |")
    return 0 if at.precision >= MIN_PRECISION else 1


if __name__ == "__main__":
    raise SystemExit(main())
