"""Ships receipts from the LDJSON files (one per run) to the ledger in batches, off the hot path;
a batch takes from as many files as it has room for.

The files are the outbox: a cursor (byte offset per file, in `artifacts/gateway/shipped.json`)
records what the ledger has acknowledged. After a crash the shipper resumes from the cursor, so
nothing is lost; the ledger is idempotent on request_id, so a batch re-sent after a crash between
ack and cursor update is counted once. With several ledger addresses a batch goes to the first
that takes it (any ledger on the shared database books it; one reached twice counts it once).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import orjson
import structlog

from services.common import jsonio
from services.common.atomic_file import replace_file
from services.common.tasks import cancel_and_wait
from services.gateway.failover import Addresses, first_answer

log = structlog.get_logger("tollway.gateway.shipper")
EMPTY_BODY = b'{"receipts":[]}'


class ReceiptShipper:
    def __init__(self, costs_dir: Path, state_file: Path, ledger: Addresses | str, *, batch_size: int,
                 interval_s: float, rejected_file: Path, max_bytes: int = 4 * 1024 * 1024) -> None:
        self.costs_dir = costs_dir
        self.state_file = state_file
        self.ledger = Addresses.of("ledger", ledger)
        self.batch_size = batch_size
        self.max_bytes = max_bytes  # a batch's body stays within the ledger's body limit
        self.interval_s = interval_s
        self.rejected_file = rejected_file
        self.offsets: dict[str, int] = self._load_state()
        self.dirty: set[str] = set()
        self.shipped = 0
        self.failures = 0
        self.connected = True
        self._lock = asyncio.Lock()
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._scan()

    def _load_state(self) -> dict[str, int]:
        try:
            data = jsonio.loads(self.state_file.read_bytes())
            return {str(k): int(v) for k, v in data.items()}
        except (OSError, ValueError, AttributeError):
            return {}
        except Exception:
            return {}

    def _save_state(self) -> None:
        replace_file(self.state_file, jsonio.dumps(self.offsets))

    def _scan(self) -> None:
        """Every file with bytes past its cursor has receipts to ship (used at start)."""
        for path in self.costs_dir.glob("*.jsonl"):
            if path.stat().st_size > self.offsets.get(path.name, 0):
                self.dirty.add(path.name)

    def mark(self, run_id: str) -> None:
        self.dirty.add(f"{run_id}.jsonl")

    @property
    def caught_up(self) -> bool:
        """Whether every receipt written so far has been acknowledged by the ledger."""
        return not self.dirty

    @property
    def backlog_files(self) -> int:
        return len(self.dirty)

    def backlog_bytes(self) -> int:
        """Bytes of receipts written and not yet acknowledged by the ledger (one stat per file
        with a backlog: for /metrics, not the request path)."""
        total = 0
        for name in list(self.dirty):
            try:
                total += max((self.costs_dir / name).stat().st_size - self.offsets.get(name, 0), 0)
            except OSError:
                continue
        return total

    def _read_batch(self, name: str, limit: int, count: int, size: int) -> tuple[list[bytes], int, int]:
        """Complete lines of one file past its cursor and before `limit`, to add to a batch of
        `count` receipts and `size` bytes of body: up to batch_size receipts and max_bytes of body
        in all (a first receipt longer than that goes alone); the lines, the offset after them, and
        the body's size with them."""
        pos = self.offsets.get(name, 0)
        receipts: list[bytes] = []  # each line as written: money stays exactly as the gateway wrote it
        with open(self.costs_dir / name, "rb") as fh:
            fh.seek(pos)
            while count + len(receipts) < self.batch_size and pos < limit:
                line = fh.readline()
                if not line.endswith(b"\n"):  # EOF, or a line still being written
                    break
                receipt = line.rstrip(b"\r\n")
                if (count or receipts) and size + len(receipt) + 1 > self.max_bytes:
                    break  # the next batch's first
                pos += len(line)
                if not line.strip():
                    continue
                try:
                    if not isinstance(orjson.loads(line), dict):
                        raise orjson.JSONDecodeError("not an object", "", 0)
                    receipts.append(receipt)
                    size += len(receipt) + 1
                except orjson.JSONDecodeError:  # torn by a crash mid-write: keep it aside, go on
                    log.error("receipt_line_unreadable", file=name, offset=pos - len(line))
                    with open(self.rejected_file, "ab") as out:
                        out.write(line)
        return receipts, pos, size

    async def ship_once(self, client: httpx.AsyncClient) -> None:
        async with self._lock:
            await self._ship_dirty(client)

    async def _ship_dirty(self, client: httpx.AsyncClient) -> None:
        """Every file with receipts to ship, up to where it ended when this pass began (not chasing
        receipts written meanwhile, which would turn a busy run into a stream of tiny batches), in
        batches that take from several files: many runs with a few receipts each cost the ledger a
        transaction per batch, not one per run."""
        names = []
        for name in sorted(self.dirty):
            if (self.costs_dir / name).exists():
                names.append(name)
            else:
                self.dirty.discard(name)
        limits = {name: (self.costs_dir / name).stat().st_size for name in names}
        while names := [name for name in names if self.offsets.get(name, 0) < limits[name]]:
            parts: list[tuple[str, list[bytes], int]] = []  # (file, its receipts in the batch, its offset after)
            count, size = 0, len(EMPTY_BODY)
            for name in names:
                if count >= self.batch_size:
                    break
                receipts, end, size = self._read_batch(name, limits[name], count, size)
                if end > self.offsets.get(name, 0):
                    parts.append((name, receipts, end))
                    count += len(receipts)
            if not parts:
                break
            await self._ship_parts(client, parts)
        for name in limits:
            if (self.costs_dir / name).stat().st_size <= self.offsets.get(name, 0):
                self.dirty.discard(name)

    async def _ship_parts(self, client: httpx.AsyncClient, parts: list[tuple[str, list[bytes], int]]) -> None:
        """One batch; on its acknowledgement, each file's cursor moves past its part. A batch the
        ledger refuses (400: it writes none of it) is sent again file by file, and only the part
        it still refuses is set aside: one bad receipt never blocks, or costs, the other runs'."""
        receipts = [r for _, rs, _ in parts for r in rs]
        if receipts:
            resp = await self._post(client, receipts)
            if resp.status_code == 400:
                if sum(1 for _, rs, _ in parts if rs) > 1:
                    for part in parts:
                        await self._ship_parts(client, [part])
                    return
                log.error("receipts_rejected", file=next(name for name, rs, _ in parts if rs), body=resp.text[:500])
                with open(self.rejected_file, "ab") as fh:
                    for r in receipts:
                        fh.write(r + b"\n")
            else:
                resp.raise_for_status()
                self.shipped += len(receipts)
        for name, _, end in parts:
            self.offsets[name] = end
        self._save_state()

    async def _post(self, client: httpx.AsyncClient, receipts: list[bytes]) -> httpx.Response:
        body = b'{"receipts":[' + b",".join(receipts) + b"]}"

        async def post(base: str) -> httpx.Response:
            resp = await client.post(base + "/receipts", content=body, headers={"content-type": "application/json"})
            if resp.status_code >= 500:  # that ledger cannot book it now (its database is away): the next may
                resp.raise_for_status()
            return resp

        return await first_answer(self.ledger, post)

    async def _run(self, client: httpx.AsyncClient) -> None:
        backoff = self.interval_s
        while True:
            await asyncio.sleep(backoff)
            if not self.dirty:
                continue
            try:
                await self.ship_once(client)
                if not self.connected:
                    log.info("ledger_reachable_again", shipped_total=self.shipped)
                self.connected = True
                backoff = self.interval_s
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.failures += 1
                if self.connected:
                    log.warning("ledger_unreachable", error=repr(exc), backlog_files=len(self.dirty))
                self.connected = False
                backoff = min(max(backoff * 2, 0.5), 5.0)

    def start(self, client: httpx.AsyncClient) -> None:
        self._client = client
        self._task = asyncio.create_task(self._run(client), name="receipt-shipper")

    async def stop(self, client: httpx.AsyncClient, flush_timeout: float = 3.0) -> None:
        await cancel_and_wait(self._task)
        if self.dirty:
            try:
                await asyncio.wait_for(self.ship_once(client), flush_timeout)
            except Exception as exc:
                log.warning("shutdown_flush_incomplete", error=repr(exc), backlog_files=len(self.dirty))
