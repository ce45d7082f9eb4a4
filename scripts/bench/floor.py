"""The benchmark's floor: the least a Python gateway can do, a bare pass-through on the gateway's
own stack (uvicorn on uvloop and httptools, Starlette) forwarding each chat body to the upstream
with aiohttp and its answer back, plain or streamed piece by piece; nothing else (no routing, no
receipts, no checks). Every gateway figure in the benchmarks is also given as a ratio to this one,
measured in the same run on the same core.

Usage: python scripts/bench/floor.py PORT UPSTREAM_URL   (GET /health answers once it is up)
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

HOP = {"content-type": "application/json"}


def app(upstream: str) -> Starlette:
    url = upstream.rstrip("/") + "/v1/chat/completions"
    state: dict[str, aiohttp.ClientSession] = {}

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        state["session"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=30),
                                                 auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar())
        yield
        await state["session"].close()

    async def forward(request: Request) -> Response:
        body = await request.body()
        resp = await state["session"].post(url, data=body, headers=HOP)
        media_type = resp.headers.get("content-type", "application/json")
        if not media_type.startswith("text/event-stream"):
            data = await resp.read()
            resp.release()
            return Response(data, status_code=resp.status, media_type=media_type)

        async def relay() -> AsyncIterator[bytes]:
            try:
                async for piece in resp.content.iter_any():
                    yield piece
            finally:
                resp.release()

        return StreamingResponse(relay(), status_code=resp.status, media_type=media_type)

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok", "service": "floor"})

    return Starlette(routes=[Route("/v1/chat/completions", forward, methods=["POST"]),
                             Route("/health", health)], lifespan=lifespan)


def main(argv: list[str]) -> int:
    port, upstream = int(argv[0]), argv[1]
    uvicorn.run(app(upstream), host="127.0.0.1", port=port, log_level="warning", access_log=False, loop="uvloop",
                http="httptools")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
