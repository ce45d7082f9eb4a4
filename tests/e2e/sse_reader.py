"""Reading a ledger's `GET /events` in e2e tests: a streaming httpx response, frame by frame."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import orjson


@dataclass(frozen=True)
class Frame:
    id: int | None
    event: str | None  # None: a heartbeat (a comment, maybe with an id)
    data: Any


class EventReader:
    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines

    def next_frame(self) -> Frame:
        fields: dict[str, str] = {}
        for line in self._lines:
            if line == "":
                if fields.keys() - {"comment", "retry"}:
                    data = fields.get("data")
                    return Frame(int(fields["id"]) if "id" in fields else None, fields.get("event"),
                                 orjson.loads(data) if data else None)
                fields = {}
                continue
            name, _, value = line.partition(":")
            fields[name or "comment"] = value.removeprefix(" ")
        raise EOFError("the event stream ended")

    def read_until(self, stop: Callable[[Frame], bool]) -> list[Frame]:
        """The events read up to and including the first frame (event or heartbeat) `stop` takes."""
        seen: list[Frame] = []
        while True:
            frame = self.next_frame()
            if frame.event is not None:
                seen.append(frame)
            if stop(frame):
                return seen

    def until_receipts(self, request_ids: list[str]) -> list[Frame]:
        """The events read until a `receipt` event of every one of `request_ids` has come."""
        waiting = set(request_ids)

        def stop(frame: Frame) -> bool:
            if frame.event == "receipt":
                waiting.discard(frame.data["request_id"])
            return not waiting

        return self.read_until(stop)


@contextmanager
def events(url: str, headers: dict[str, str] | None = None, **params: Any) -> Iterator[EventReader]:
    """Open the stream and wait for its opening comment: once it returns, every event published
    after is this reader's."""
    with httpx.Client(timeout=httpx.Timeout(10.0)) as client, \
            client.stream("GET", url + "/events", headers=headers or {}, params=params) as resp:
        assert resp.status_code == 200, resp.read()
        assert resp.headers["content-type"].startswith("text/event-stream")
        lines = resp.iter_lines()
        for line in lines:
            if line == "":
                break
        yield EventReader(lines)
