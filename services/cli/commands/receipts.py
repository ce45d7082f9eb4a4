"""`tollway receipts tail [--run R] [--follow]` and `receipts show REQUEST_ID`: the ledger's book
of a run (GET /receipts/{run_id}?limit=&offset=, in the order booked) and one receipt by its id
(GET /receipts/by-id/{request_id}); --follow listens to the ledger's GET /events (receipts as
they are booked), or polls the book on a ledger without it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from services.cli.client import Api, ApiError, Missing
from services.cli.exits import Exit
from services.cli.session import JsonFlag, Session, money, session
from services.common import jsonio

app = typer.Typer(help="Read receipts: the last ones of a run, live, or one by its request id.",
                  no_args_is_help=True)

RunOpt = Annotated[str | None, typer.Option("--run", help="The run (default: TOLLWAY_DEFAULT_RUN_ID, 'default').")]
COLUMNS = ["time", "request", "provider", "model", "agent", "in tokens", "out tokens", "cost $", "status"]


def _row(r: dict[str, Any]) -> list[Any]:
    return [str(r.get("timestamp", ""))[:23], r.get("request_id"), r.get("provider"), r.get("model"), r.get("agent"),
            r.get("input_tokens"), r.get("output_tokens"), money(r.get("cost_usd")), r.get("http_status")]


def _page(api: Api, run: str, offset: int, limit: int) -> dict[str, Any]:
    return api.get("ledger", f"/receipts/{run}", params={"offset": offset, "limit": limit})


@app.command()
def tail(ctx: typer.Context, run: RunOpt = None,
         lines: Annotated[int, typer.Option("-n", "--lines", min=1, max=10_000, help="How many.")] = 10,
         follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new receipts (Ctrl-C stops).")
                           ] = False,
         interval: Annotated[float, typer.Option(help="--follow: seconds between polls.", min=0.1)] = 1.0,
         json_out: JsonFlag = False) -> int:
    """The last receipts of a run (JSON lines with --json); --follow prints new ones as they are booked."""
    s = session(ctx, json_out)
    run = run or s.settings.default_run_id
    count = _page(s.api, run, 0, 1)["count"]
    seen = max(count - lines, 0)
    seen = _print_from(s, run, seen, header=True)
    if follow and not _follow_events(s, run, seen):
        while True:  # a ledger without GET /events: poll the run's book
            time.sleep(interval)
            seen = _print_from(s, run, seen, header=False)
    return Exit.OK


def _follow_events(s: Session, run: str, seen: int) -> bool:
    """New receipts of `run` from the ledger's event stream as they are booked; False when the
    ledger has no GET /events. Once the stream is open, the book is read again from `seen` so that
    a receipt booked in between is printed too (once: by request id)."""
    try:
        with s.api.stream("GET", "ledger", "/events", params={"kinds": "receipt"}) as response:
            gap = _page(s.api, run, seen, 10_000)["receipts"]
            if gap:
                _print_receipts(s, gap, None)
            printed = {r["request_id"] for r in gap}
            kind = ""
            for line in response.iter_lines():
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:") and kind == "receipt":
                    receipt = jsonio.loads_exact(line[5:].strip())
                    if receipt.get("run_id") == run and receipt.get("request_id") not in printed:
                        printed.add(receipt["request_id"])
                        _print_receipts(s, [receipt], None)
    except ApiError as exc:
        if exc.status in (404, 405):
            return False
        raise
    return True


def _print_from(s: Session, run: str, offset: int, header: bool) -> int:
    page = _page(s.api, run, offset, 10_000)
    receipts = page["receipts"]
    if receipts or header:
        _print_receipts(s, receipts, f"run {run}: {page['count']} receipts, {money(page['total_cost_usd'])}"
                        if header else None)
    return offset + len(receipts)


def _print_receipts(s: Session, receipts: list[dict[str, Any]], title: str | None) -> None:
    if s.json:
        for r in receipts:
            s.line(r)
    else:
        s.table(title, COLUMNS, [_row(r) for r in receipts])


@app.command()
def show(ctx: typer.Context, request_id: str, run: Annotated[str | None, typer.Option(
        "--run", help="Only if it is in this run.")] = None,
         local: Annotated[bool, typer.Option(
             "--local", help="Search the receipt files the gateway writes on this machine instead.")] = False,
         json_out: JsonFlag = False) -> int:
    """One receipt, every field: from the ledger (GET /receipts/by-id/ID), or this machine's files."""
    s = session(ctx, json_out)
    if local:
        receipt, where = _in_files(s.settings.costs_dir, request_id), f"{s.settings.costs_dir}/*.jsonl"
    else:
        receipt, where = _by_id(s.api, run, request_id, s.settings.costs_dir), f"the ledger at {s.api.url('ledger')}"
    if receipt is not None and run is not None and receipt.get("run_id") != run:
        receipt, where = None, f"run {run} ({where} has it in run {receipt.get('run_id')})"
    if receipt is None:
        raise Missing(f"no receipt {request_id} in {where}") from None
    s.emit(receipt, lambda: s.table(f"receipt {request_id}", ["field", "value"], [
        [k, jsonio.dumps(v).decode() if isinstance(v, dict | list) else v] for k, v in receipt.items()]))
    return Exit.OK


def _by_id(api: Api, run: str | None, request_id: str, costs: Path) -> dict[str, Any] | None:
    """The ledger's receipt of `request_id` (a virtual key: its tenant's only); a ledger older than
    GET /receipts/by-id is searched through `run`, or else this machine's files."""
    try:
        receipt = api.get("ledger", f"/receipts/by-id/{request_id}", missing_ok=True)
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise
    if receipt is not None:
        return receipt
    return _in_ledger(api, run, request_id) if run else _in_files(costs, request_id)


def _in_ledger(api: Api, run: str, request_id: str) -> dict[str, Any] | None:
    offset = 0
    while True:
        page = _page(api, run, offset, 10_000)
        for r in page["receipts"]:
            if r.get("request_id") == request_id:
                return r
        offset += len(page["receipts"])
        if not page["receipts"] or offset >= page["count"]:
            return None


def _in_files(costs: Path, request_id: str) -> dict[str, Any] | None:
    needle = f'"request_id":"{request_id}"'
    for path in sorted(costs.glob("*.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True):
        with path.open() as f:
            for line in f:
                if needle in line.replace(" ", ""):
                    return jsonio.loads_exact(line)
    return None
