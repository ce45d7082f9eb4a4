"""The rate limits a key carries, completed with their defaults and checked for sense (the
gateway enforces them; a limit it could not enforce is refused here, when it is set)."""

from __future__ import annotations

from typing import Any

from services.common.errors import InvalidRequest

DEFAULTS = {"algorithm": "sliding_window", "window_s": 60, "unit": "requests"}
DAY_S = 86_400


def normal_limits(limits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    names: set[str] = set()
    for i, given in enumerate(limits):
        limit = {**DEFAULTS, **given}
        field = f"limits.{i}"
        if limit["name"] in names:
            raise InvalidRequest(f"limit names must be unique on a key: {limit['name']}", field=f"{field}.name")
        names.add(limit["name"])
        if "burst" in limit and limit["algorithm"] != "token_bucket":
            raise InvalidRequest("burst is the size of a token bucket: only with algorithm token_bucket",
                                 field=f"{field}.burst")
        if limit["algorithm"] == "fixed_window" and DAY_S % limit["window_s"]:
            raise InvalidRequest("a fixed window must divide a day (60, 3600, 86400 s...)", field=f"{field}.window_s")
        out.append(limit)
    return out
