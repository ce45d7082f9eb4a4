"""`tollway dashboard [--open]`: where the ledger serves its live dashboard (docs/dashboard.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from services.cli.exits import Exit
from services.cli.session import JsonFlag, session


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Read")(dashboard)


def dashboard(ctx: typer.Context,
              open_: Annotated[bool, typer.Option("--open", help="Open it in the web browser.")] = False,
              json_out: JsonFlag = False) -> int:
    """The live dashboard's address (the ledger serves it); checks that the ledger answers."""
    s = session(ctx, json_out)
    s.api.get("ledger", "/health")  # a ledger that does not answer: exit 3, with how to start it
    url = s.api.url("ledger") + "/dashboard"
    s.emit({"url": url}, lambda: s.say(f"{url}  (give it the admin key, or a virtual key for one tenant's view)"))
    if open_:
        import webbrowser

        webbrowser.open(url)
    return Exit.OK
