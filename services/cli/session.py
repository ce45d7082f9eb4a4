"""What every command gets: the services' client, whether to print JSON, and how to print.

`--json` prints one JSON document (or one JSON line per item for streams) on stdout, money as
exact JSON numbers; without it, Rich tables and sentences. Errors always go to stderr."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from services.cli.client import Api, Endpoints, UsageError
from services.common import jsonio
from services.common.settings import Settings

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON (one document; JSON lines for streams).")]


@dataclass
class Flags:
    """The root command's options (None: not given, the settings decide)."""

    router_url: str | None = None
    gateway_url: str | None = None
    ledger_url: str | None = None
    admin_key: str | None = None
    virtual_key: str | None = None
    json: bool = False


@dataclass
class Session:
    flags: Flags
    json: bool = False
    console: Console = field(default_factory=lambda: Console(highlight=False, soft_wrap=True))

    @cached_property
    def settings(self) -> Settings:
        return Settings()

    @cached_property
    def endpoints(self) -> Endpoints:
        f = self.flags
        return Endpoints.from_settings(self.settings, router_url=f.router_url, gateway_url=f.gateway_url,
                                       ledger_url=f.ledger_url, admin_key=f.admin_key,
                                       virtual_key=f.virtual_key)

    @cached_property
    def api(self) -> Api:
        return Api(self.endpoints)

    def emit(self, doc: Any, human: Callable[[], None]) -> None:
        """`doc` as JSON with --json, else whatever `human` prints."""
        if self.json:
            typer.echo(jsonio.dumps(doc).decode())
        else:
            human()

    def line(self, doc: Any) -> None:
        typer.echo(jsonio.dumps(doc).decode())

    def say(self, text: str) -> None:
        self.console.print(text)

    def table(self, title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
        t = Table(title=title, title_justify="left", header_style="bold")
        for col in columns:
            t.add_column(col, justify="right" if col.endswith(("$", "tokens", "requests", "%")) else "left")
        for row in rows:
            t.add_row(*(cell(v) for v in row))
        self.console.print(t)


def session(ctx: typer.Context, json_flag: bool = False) -> Session:
    """The command's session; `--json` counts wherever it was given on the line (the root, the
    command, or a group before its subcommand: `tollway alerts rules --json list`)."""
    flags: Flags = ctx.find_root().obj or Flags()
    wanted = json_flag or flags.json
    parent = ctx.parent
    while not wanted and parent is not None:
        wanted = bool(parent.params.get("json_out"))
        parent = parent.parent
    return Session(flags, json=wanted)


def money(amount: Any) -> str:
    """Dollars as the ledger writes them: six decimals, exact."""
    if amount is None:
        return "-"
    return "$" + format(Decimal(str(amount)).quantize(Decimal("0.000001")), "f")


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return escape(", ".join(map(str, value))) or "-"
    return escape(str(value))


def pairs(values: list[str], what: str) -> dict[str, str]:
    """Repeated NAME=VALUE options (`what`: the option, for the error) as a mapping."""
    out = {}
    for value in values:
        name, sep, val = value.partition("=")
        if not sep or not name:
            raise UsageError(f"{what} is NAME=VALUE, not {value!r}")
        out[name] = val
    return out
