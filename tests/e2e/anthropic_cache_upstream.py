"""A tiny Anthropic Messages upstream that reports prompt-cache tokens, run as its own process by
the e2e tests (`python -m tests.e2e.anthropic_cache_upstream PORT`): the simulator reports none.

The counts come from the endpoint's first path segment, e.g. an endpoint
`http://127.0.0.1:PORT/i=100000,r=800000,w=100000,o=7` answers every `POST .../v1/messages` with
usage input_tokens=100000 (the uncached ones, as Anthropic counts them), cache_read_input_tokens=800000,
cache_creation_input_tokens=100000 and output_tokens=7, plain or streamed (`"stream": true`).
Any GET (the router's health probe) answers 200.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

KEYS = {"i": "input_tokens", "r": "cache_read_input_tokens", "w": "cache_creation_input_tokens", "o": "output_tokens"}


def usage_of(path: str) -> dict[str, int]:
    counts = dict.fromkeys(KEYS.values(), 0)
    for item in path.strip("/").split("/")[0].split(","):
        key, _, value = item.partition("=")
        if key in KEYS:
            counts[KEYS[key]] = int(value)
    return counts


def message(usage: dict[str, int]) -> dict[str, Any]:
    return {"id": "msg_cache", "type": "message", "role": "assistant", "model": "cache-upstream",
            "content": [{"type": "text", "text": "cached " * usage["output_tokens"]}],
            "stop_reason": "end_turn", "stop_sequence": None, "usage": usage}


def events(usage: dict[str, int]) -> bytes:
    start = {**message({**usage, "output_tokens": 1}), "content": [], "stop_reason": None}
    out = [("message_start", {"type": "message_start", "message": start}),
           ("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": {"type": "text", "text": ""}})]
    out += [("content_block_delta", {"type": "content_block_delta", "index": 0,
                                     "delta": {"type": "text_delta", "text": "cached "}})] * usage["output_tokens"]
    out += [("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                               "usage": {"output_tokens": usage["output_tokens"]}}),
            ("message_stop", {"type": "message_stop"})]
    return b"".join(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in out)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self._send(200, b'{"data": []}', "application/json")

    def do_POST(self) -> None:  # noqa: N802
        request = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
        if not self.path.endswith("/v1/messages"):
            self._send(404, b'{"type": "error", "error": {"type": "not_found_error", "message": "no"}}',
                       "application/json")
            return
        usage = usage_of(self.path)
        if request.get("stream"):
            self._send(200, events(usage), "text/event-stream")
        else:
            self._send(200, json.dumps(message(usage)).encode(), "application/json")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's signature)
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
