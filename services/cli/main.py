"""The `tollway` command line (Typer + Rich): run the services (`serve`, `up`, `down`, `status`),
manage them (`providers`, `budget`, `keys`, `limits`, `cache`, `alerts`), use them (`chat`), and
read them (`receipts`, `cost`, `experiments`, `catalog`, `monitor`); `simulate` and `db upgrade`
as before. docs/cli.md."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from services.cli.client import CliError
from services.cli.commands import (
    alerts,
    budget,
    cache,
    catalog,
    chat,
    cost,
    cost_insights,
    dashboard,
    experiments,
    keys,
    limits,
    monitor,
    providers,
    receipts,
    swarm,
)
from services.cli.exits import Exit
from services.cli.session import Flags

app = typer.Typer(
    name="tollway",
    help="Tollway, the LLM gateway: run, manage and watch the router, gateway and ledger.\n\n"
         "Service addresses and keys come from the options below or from TOLLWAY_* variables"
         " (TOLLWAY_LEDGER_URL, TOLLWAY_ADMIN_KEY, ...). Exit status: 0 ok, 1 a service refused,"
         " 2 bad usage, 3 a service does not answer, 4 not found, 5 key missing or wrong,"
         " 6 a check found something.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    ctx: typer.Context,
    router_url: Annotated[str | None, typer.Option(help="The router's URL (env TOLLWAY_ROUTER_URL).")] = None,
    gateway_url: Annotated[str | None, typer.Option(help="The gateway's URL (env TOLLWAY_GATEWAY_URL).")] = None,
    ledger_url: Annotated[str | None, typer.Option(help="The ledger's URL (env TOLLWAY_LEDGER_URL).")] = None,
    admin_key: Annotated[str | None, typer.Option(
        help="The admin key, for management commands (env TOLLWAY_ADMIN_KEY).")] = None,
    key: Annotated[str | None, typer.Option(
        help="A virtual key: chat as it, read as its tenant (env TOLLWAY_VIRTUAL_KEY).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON from every command.")] = False,
) -> None:
    ctx.obj = Flags(router_url=router_url, gateway_url=gateway_url, ledger_url=ledger_url,
                    admin_key=admin_key, virtual_key=key, json=json_out)


class Service(StrEnum):
    router = "router"
    gateway = "gateway"
    ledger = "ledger"
    simulator = "simulator"


@app.command(rich_help_panel="Run")
def serve(service: Annotated[Service, typer.Argument(help="Which service to run.")],
          port: Annotated[int | None, typer.Option(help="Port (default: TOLLWAY_<SERVICE>_PORT).")] = None,
          host: Annotated[str | None, typer.Option(help="Address to bind (default: TOLLWAY_HOST).")] = None) -> None:
    """Run one service in the foreground."""
    from services.cli.serve import serve as run

    run(service.value, port, host)


PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


@app.command(context_settings=PASS_THROUGH, add_help_option=False, rich_help_panel="Run")
def simulate(ctx: typer.Context) -> int:
    """Replay a workload through each routing strategy and compare (tollway simulate --help)."""
    import argparse

    from services.cli.whatif.run import add_arguments, run

    parser = argparse.ArgumentParser(prog="tollway simulate",
                                     description="Replay a workload through each routing strategy and compare")
    add_arguments(parser)
    return run(parser.parse_args(ctx.args))


@app.command(context_settings=PASS_THROUGH, add_help_option=False, rich_help_panel="Run")
def db(ctx: typer.Context) -> int:
    """The services' database: `tollway db upgrade` applies the schema migrations, `tollway db
    backfill-series` adds the receipts booked before the analytics series to them."""
    import argparse

    from services.cli import backfill
    from services.cli import db as migrations
    from services.common.settings import Settings

    parser = argparse.ArgumentParser(prog="tollway db", description="The ledger's and the router's database")
    migrations.add_arguments(parser)
    args = parser.parse_args(ctx.args)
    if args.db_command == "backfill-series":
        return backfill.run(Settings(), args.batch)
    return migrations.upgrade(Settings())


swarm.register(app)
app.add_typer(providers.app, name="providers", rich_help_panel="Manage")
app.add_typer(budget.app, name="budget", rich_help_panel="Manage")
app.add_typer(keys.app, name="keys", rich_help_panel="Manage")
app.add_typer(limits.app, name="limits", rich_help_panel="Manage")
app.add_typer(cache.app, name="cache", rich_help_panel="Manage")
app.add_typer(alerts.app, name="alerts", rich_help_panel="Manage")
chat.register(app)
app.add_typer(receipts.app, name="receipts", rich_help_panel="Read")
cost_insights.register(cost.app)
app.add_typer(cost.app, name="cost", rich_help_panel="Read")
app.add_typer(experiments.app, name="experiments", rich_help_panel="Read")
catalog.register(app)
monitor.register(app)
dashboard.register(app)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; the exit status (docs/cli.md). Errors are one sentence on stderr."""
    try:
        result = app(args=argv if argv is not None else sys.argv[1:], prog_name="tollway", standalone_mode=False)
    except CliError as exc:
        typer.echo(f"tollway: {exc.message}", err=True)
        return int(exc.exit_code)
    except typer.Exit as exc:  # --help and the like
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("tollway: interrupted", err=True)
        return 130
    except Exception as exc:
        if not callable(getattr(exc, "show", None)):  # not Click's usage errors (Typer may vendor Click)
            raise
        exc.show()
        return int(getattr(exc, "exit_code", Exit.USAGE))
    return result if isinstance(result, int) else Exit.OK


if __name__ == "__main__":
    sys.exit(main())
