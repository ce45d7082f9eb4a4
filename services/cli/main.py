"""The `tollway` command line: `tollway serve router|gateway|ledger|simulator`, and
`tollway simulate` (what each routing strategy would have cost, see services/cli/whatif), and
`tollway db upgrade` (the ledger's and the router's schema migrations, see services/cli/db.py)."""

from __future__ import annotations

import argparse
import gc
import os
import socket
import sys

SERVICES = {
    "router": ("services.router.app:create_app", "router_port"),
    "gateway": ("services.gateway.app:create_app", "gateway_port"),
    "ledger": ("services.ledger.app:create_app", "ledger_port"),
    "simulator": ("services.simulator.app:create_app", "simulator_port"),
}


def serve(service: str, port: int | None, host: str | None) -> None:
    import uvicorn

    from services.common.http.longpoll import release_all_waiters
    from services.common.logging import configure_logging
    from services.common.settings import Settings

    class Server(uvicorn.Server):
        """Answers held long-polls as soon as a stop is asked, so shutdown is prompt and clean; once
        started, moves everything loaded so far (modules, the app, the cache's model) out of the
        garbage collector's sight: it lives as long as the process, and full collections, which
        stall every request in flight, then walk only what requests made."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            gc.collect()
            gc.freeze()

        def handle_exit(self, sig: int, frame: object) -> None:
            release_all_waiters()
            super().handle_exit(sig, frame)  # type: ignore[arg-type]

    factory, port_field = SERVICES[service]
    if port is not None:  # the app reads its port from settings (for /health): keep them in step
        os.environ[f"TOLLWAY_{port_field.upper()}"] = str(port)
    settings = Settings()
    configure_logging(service, settings.log_level, settings.api_key_env_allow)
    config = uvicorn.Config(factory, factory=True, host=host or settings.host,
                            port=getattr(settings, port_field), log_level=settings.log_level,
                            access_log=False, loop="uvloop", http="httptools", timeout_graceful_shutdown=5)
    Server(config).run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tollway", description="Tollway LLM gateway")
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="run one service in the foreground")
    p_serve.add_argument("service", choices=sorted(SERVICES))
    p_serve.add_argument("--port", type=int, default=None)
    p_serve.add_argument("--host", default=None)
    p_sim = sub.add_parser("simulate", help="replay a workload through each routing strategy and compare")
    from services.cli.whatif.run import add_arguments, run

    add_arguments(p_sim)
    p_db = sub.add_parser("db", help="the services' database: `tollway db upgrade` applies the ledger's and"
                                            " the router's schema migrations")
    from services.cli import db

    db.add_arguments(p_db)
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.service, args.port, args.host)
    elif args.command == "simulate":
        return run(args)
    elif args.command == "db":
        from services.common.settings import Settings

        return db.upgrade(Settings())
    return 0


if __name__ == "__main__":
    sys.exit(main())
