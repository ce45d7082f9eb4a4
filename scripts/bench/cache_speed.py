"""How long the response cache takes, next to what a miss costs without it.

    taskset -c 0 python scripts/bench/cache_speed.py [--sizes 1000,10000,100000] [--backends memory,redis]

Rows: `no cache` is one POST of the same chat request to a local mock upstream (aiohttp, its own
process on another core): the least a request the cache cannot answer costs. `exact hit` is
`prepare` + `lookup` of a stored request (keys, canonical JSON, SHA-256, the store's read).
`semantic lookup` is `prepare` + `lookup` of a paraphrase (no exact entry): embedding, the search
over every entry of the scope (all N share one scope, the worst case), the guards and the read;
queries are the labelled paraphrases, stored prompts are the pairs' first prompts plus filler.
One untimed round first: a replica builds its Redis mirror and its word vectors once, at start.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import orjson  # noqa: E402

from services.gateway.cache import CacheSettings, Entry, ResponseCache, request_key  # noqa: E402
from services.gateway.cache.embedder import load_embedder  # noqa: E402
from services.gateway.cache.memory import MemoryStore  # noqa: E402
from services.gateway.cache.redis_store import RedisStore  # noqa: E402

TENANT = "bench"
BODY = orjson.dumps({"id": "chatcmpl-bench", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
                     "choices": [{"index": 0, "message": {"role": "assistant", "content": "An answer. " * 20},
                                  "finish_reason": "stop"}],
                     "usage": {"prompt_tokens": 20, "completion_tokens": 60, "total_tokens": 80}})
SUBJECTS = ["a list", "a string", "a file", "a table", "an index", "a branch", "a queue", "a cookie", "a user",
            "a backup", "a report", "a budget", "an invoice", "a sprint", "a container", "a certificate"]
VERBS = ["create", "delete", "rename", "archive", "validate", "export", "monitor", "secure", "migrate", "audit"]
PLACES = ["in Django", "on Ubuntu", "with Terraform", "in Excel", "on AWS", "in Postgres", "with Kafka",
          "in React", "on Kubernetes", "in Salesforce"]

MOCK = """
import sys
from aiohttp import web
body = sys.stdin.buffer.read()
async def handle(request):
    await request.read()
    return web.Response(body=body, content_type="application/json")
app = web.Application()
app.router.add_post("/v1/chat/completions", handle)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


def payload(text: str) -> dict:
    return {"model": "gpt-4o-mini", "temperature": 0, "messages": [{"role": "user", "content": text}]}


def filler(n: int) -> list[str]:
    out = []
    i = 0
    while len(out) < n:
        s, v, p = SUBJECTS[i % 16], VERBS[(i // 16) % 10], PLACES[(i // 160) % 10]
        out.append(f"How do I {v} {s} {p} for project {i // 1600}?")
        i += 1
    return out


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))]


async def fill(cache: ResponseCache, store, prompts: list[str], embedder) -> None:
    now = cache.now()
    for start in range(0, len(prompts), 4096):
        batch = prompts[start:start + 4096]
        vecs = embedder.embed(batch)
        for text, vec in zip(batch, vecs, strict=True):
            key = request_key(TENANT, payload(text))
            await store.put(Entry(key=key.exact, tenant=TENANT, model=key.model, body=BODY,
                                  cost_usd=Decimal("0.000120"), created_at=now, expires_at=now + 86400,
                                  scope=key.scope, prompt=key.prompt, vector=vec.tobytes()), now)


async def timed(cache: ResponseCache, texts: list[str], rounds: int) -> tuple[list[float], int]:
    samples, hits = [], 0
    for _ in range(rounds):
        for text in texts:
            t = time.perf_counter()
            hit = await cache.lookup(cache.prepare(TENANT, payload(text)))
            samples.append(time.perf_counter() - t)
            hits += hit is not None
    return samples, hits


async def upstream_baseline(n: int) -> list[float]:
    port = 20000 + secrets.randbelow(20000)
    proc = subprocess.Popen([sys.executable, "-c", MOCK, str(port)], stdin=subprocess.PIPE,
                            preexec_fn=lambda: os.sched_setaffinity(0, {os.cpu_count() - 1}))  # noqa: PLW1509
    assert proc.stdin
    proc.stdin.write(BODY)
    proc.stdin.close()
    try:
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/v1/chat/completions"
            for _ in range(100):
                try:
                    async with session.post(url, data=b"{}") as r:
                        await r.read()
                    break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.05)
            samples = []
            body = orjson.dumps(payload("What is the capital of France?"))
            for _ in range(n):
                t = time.perf_counter()
                async with session.post(url, data=body) as r:
                    await r.read()
                samples.append(time.perf_counter() - t)
            return samples
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def make_store(backend: str, size: int):
    limits = {"max_entries": size + 1000, "max_bytes": 4 * 1024**3}
    if backend == "memory":
        return MemoryStore(**limits)
    return RedisStore(os.environ.get("TOLLWAY_REDIS_URL", "redis://127.0.0.1:6379/0"),
                      prefix=f"tollway:bench:cache:{secrets.token_hex(4)}:", timeout_s=5.0, **limits)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--backends", default="memory,redis")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    embedder = load_embedder()
    pairs = [json.loads(x) for x in (ROOT / "tests/data/cache_pairs.jsonl").read_text().splitlines()]
    stored = [p["a"] for p in pairs if p["label"] == "hit"]
    paraphrases = [p["b"] for p in pairs if p["label"] == "hit"]
    rows = []
    base = await upstream_baseline(2000)
    rows.append(("no cache: POST to local mock upstream", "-", "-", base, None))
    for backend in args.backends.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            store = make_store(backend, size)
            cache = ResponseCache(store, CacheSettings(semantic=True), embedder=embedder)
            await fill(cache, store, stored + filler(size - len(stored)), embedder)
            await timed(cache, stored[:10] + paraphrases, 1)  # warm: the Redis mirror, the word vectors
            exact, hits = await timed(cache, stored, max(1, 2000 // len(stored)))
            rows.append(("exact hit", backend, size, exact, hits / len(exact)))
            sem, hits = await timed(cache, paraphrases, 3)
            rows.append(("semantic lookup (paraphrase)", backend, size, sem, hits / len(sem)))
            if isinstance(store, RedisStore):
                await store.clear()
            await cache.close()
    if args.json:
        print(json.dumps([{"what": w, "backend": b, "entries": n, "p50_us": pct(s, 0.5) * 1e6,
                           "p99_us": pct(s, 0.99) * 1e6, "hit_rate": h} for w, b, n, s, h in rows]))
        return
    print(f"model {embedder.name}, {len(stored)} stored prompts + filler per size; one process, "
          f"OMP threads {os.environ['OMP_NUM_THREADS']}, cores allowed {sorted(os.sched_getaffinity(0))}\n")
    print("| what | backend | entries | p50 | p99 | mean | hit rate |")
    print("|---|---|---|---|---|---|---|")
    for what, backend, n, s, h in rows:
        unit, f = ("ms", 1e3) if what.startswith("semantic") else ("µs", 1e6)
        rate = "" if h is None else f"{h:.2f}"
        print(f"| {what} | {backend} | {n} | {pct(s, 0.5) * f:.1f} {unit} | {pct(s, 0.99) * f:.1f} {unit} | "
              f"{statistics.fmean(s) * f:.1f} {unit} | {rate} |")


if __name__ == "__main__":
    asyncio.run(main())
