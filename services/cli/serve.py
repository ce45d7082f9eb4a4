"""`tollway serve SERVICE [--port N] [--host H]`: run one service in the foreground (uvicorn)."""

from __future__ import annotations

import gc
import os
import socket

SERVICES = {
    "router": ("services.router.app:create_app", "router_port"),
    "gateway": ("services.gateway.app:create_app", "gateway_port"),
    "ledger": ("services.ledger.app:create_app", "ledger_port"),
    "simulator": ("services.simulator.app:create_app", "simulator_port"),
}


def settle_heap(gen0_threshold: int) -> None:
    """Once a service has started: collect, freeze what is left (it lives as long as the process,
    and full collections then walk only what requests made), and raise the young generation's
    threshold. After the freeze a young collection walks the objects of requests in flight and
    the garbage they left, whatever the threshold: CPython's 700 ran one every 11 requests at 64
    in flight (15-20 µs of a request's 400 µs CPU, most of it cache misses), 20,000 almost never
    (docs/benchmarks.md)."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(gen0_threshold, older, oldest)


def serve(service: str, port: int | None, host: str | None) -> None:
    import uvicorn

    from services.common.http.longpoll import release_all_waiters
    from services.common.logging import configure_logging
    from services.common.settings import Settings

    class Server(uvicorn.Server):
        """Answers held long-polls as soon as a stop is asked, so shutdown is prompt and clean; once
        started, moves everything loaded so far (modules, the app, the cache's model) out of the
        garbage collector's sight (`settle_heap`)."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            settle_heap(settings.gc_gen0_threshold)

        def handle_exit(self, sig: int, frame: object) -> None:
            release_all_waiters()
            super().handle_exit(sig, frame)  # type: ignore[arg-type]

    factory, port_field = SERVICES[service]
    if port is not None:  # the app reads its port from settings (for /health): keep them in step
        os.environ[f"TOLLWAY_{port_field.upper()}"] = str(port)
    settings = Settings()
    configure_logging(service, settings.log_level, settings.api_key_env_allow)
    from services.common.tracing.otel import setup as setup_tracing

    setup_tracing(service, settings.otel_enabled)
    config = uvicorn.Config(factory, factory=True, host=host or settings.host,
                            port=getattr(settings, port_field), log_level=settings.log_level,
                            access_log=False, loop="uvloop", http="httptools", timeout_graceful_shutdown=5)
    Server(config).run()
