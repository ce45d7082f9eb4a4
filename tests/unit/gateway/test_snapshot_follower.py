"""A snapshot follower applies every new version and tells its listener once, whatever happens to
the copy it keeps on disk: a lowered cap must revoke the gateway's leases even when the cache
file cannot be written (measured: two gateways sharing a state directory raced on one temporary
file, the loser's FileNotFoundError skipped the revocation, and a lowered cap let 62 more
requests through)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from structlog.testing import capture_logs

from services.gateway.snapshots.follower import SnapshotFollower


def follower(cache_file: Path) -> tuple[SnapshotFollower[dict[str, Any]], list[tuple[Any, Any]]]:
    seen: list[tuple[Any, Any]] = []
    f: SnapshotFollower[dict[str, Any]] = SnapshotFollower(
        "budgets", "http://127.0.0.1:1", "/budgets/snapshot", lambda d: d, {}, cache_file=cache_file, wait_s=1)
    f.on_change = lambda old, new: seen.append((old.get("cap"), new.get("cap")))
    return f, seen


def snapshot(version: int, cap: str) -> bytes:
    return orjson.dumps({"version": version, "cap": cap})


def test_a_new_version_is_applied_told_and_kept_on_disk(tmp_path: Path) -> None:
    f, seen = follower(tmp_path / "state" / "budgets.json")
    f._apply(snapshot(1, "10"))
    f._apply(snapshot(1, "10"))  # the same version again: nothing to tell
    f._apply(snapshot(2, "0.07"))
    assert seen == [(None, "10"), ("10", "0.07")] and f.version == 2
    assert orjson.loads((tmp_path / "state" / "budgets.json").read_bytes())["cap"] == "0.07"
    assert [p.name for p in (tmp_path / "state").iterdir()] == ["budgets.json"]  # no temporary file left
    again, _ = follower(tmp_path / "state" / "budgets.json")  # a restart starts from the copy on disk
    assert again.version == 2 and again.value["cap"] == "0.07"


def test_a_cache_that_cannot_be_written_does_not_stop_the_change(tmp_path: Path) -> None:
    (tmp_path / "not-a-dir").write_text("a file where the state directory should be")
    f, seen = follower(tmp_path / "not-a-dir" / "budgets.json")
    with capture_logs() as logs:
        f._apply(snapshot(1, "10"))
        f._apply(snapshot(2, "0.07"))
    assert seen == [(None, "10"), ("10", "0.07")] and f.value["cap"] == "0.07" and f.version == 2
    assert [x["event"] for x in logs if x["log_level"] == "warning"] == ["snapshot_cache_not_written"] * 2


def test_a_listener_that_fails_is_logged_and_the_next_version_is_still_told(tmp_path: Path) -> None:
    f, seen = follower(tmp_path / "budgets.json")
    calls = {"n": 0}

    def flaky(old: Any, new: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom")
        seen.append((old.get("cap"), new.get("cap")))

    f.on_change = flaky
    with capture_logs() as logs:
        f._apply(snapshot(1, "10"))
        f._apply(snapshot(2, "0.07"))
    assert seen == [("10", "0.07")] and f.version == 2
    assert [x["event"] for x in logs if x["log_level"] == "error"] == ["snapshot_change_not_applied"]
    assert orjson.loads((tmp_path / "budgets.json").read_bytes())["version"] == 2
