"""Two processes replacing one state file (two gateways sharing a state directory) never take
each other's temporary file, and a reader always sees a whole version."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

from services.common.atomic_file import replace_file


def _writer(path: str, tag: str, n: int, errors: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    try:
        for i in range(n):
            replace_file(Path(path), json.dumps({"by": tag, "i": i, "pad": "x" * 4000}).encode())
    except OSError as exc:
        errors.put(repr(exc))


def test_two_processes_replacing_one_file_both_succeed_and_readers_see_whole_versions(tmp_path: Path) -> None:
    path = tmp_path / "state" / "budgets.json"
    ctx = multiprocessing.get_context("spawn")
    errors = ctx.Queue()
    writers = [ctx.Process(target=_writer, args=(str(path), tag, 400, errors)) for tag in ("a", "b")]
    for w in writers:
        w.start()
    reads = 0
    while any(w.is_alive() for w in writers):
        if path.exists():
            assert json.loads(path.read_bytes())["by"] in ("a", "b")  # never a torn or empty file
            reads += 1
    for w in writers:
        w.join()
        assert w.exitcode == 0
    assert errors.empty(), errors.get()
    assert json.loads(path.read_bytes())["i"] == 399
    assert sorted(p.name for p in path.parent.iterdir()) == ["budgets.json"]  # no temporary file left
    assert reads > 0
