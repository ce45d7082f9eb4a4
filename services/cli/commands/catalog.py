"""`tollway catalog [MODEL] [--provider P] [--api-format F]`: the router's price catalog (GET
/catalog: every row, one provider's, or how one model name is priced; docs/pricing.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from services.cli.session import JsonFlag, session

COLUMNS = ["provider", "model", "input $/Mtok", "output $/Mtok", "cache read $/Mtok", "context", "max output",
           "kind"]


def _row(m: dict[str, Any]) -> list[Any]:
    return [m["provider"], m["model"], m.get("input_per_mtok"), m.get("output_per_mtok"),
            m.get("cache_read_per_mtok"), m.get("context_window"), m.get("max_output_tokens"), m.get("kind")]


def catalog(ctx: typer.Context,
            model: Annotated[str | None, typer.Argument(help="Look one name up as a registration would.")] = None,
            provider: Annotated[str | None, typer.Option(help="Only this provider's rows (or the model at it).")
                                ] = None,
            api_format: Annotated[str | None, typer.Option(help="With MODEL: the registration's api_format.")
                                  ] = None,
            json_out: JsonFlag = False) -> None:
    """The price catalog: list prices and context windows the router prices registrations from.
    With MODEL, the row that name finds (exact, alias or undated), exit 4 when none."""
    s = session(ctx, json_out)
    body = s.api.get("router", "/catalog", params={"model": model, "provider": provider,
                                                   "api_format": api_format})

    def human() -> None:
        if model is None:
            s.table(f"{body['count']} models in catalog {body['version']}", COLUMNS, [_row(m) for m in body["models"]])
        else:
            s.table(f"{model}: {body['match']} match, {body['model']['key']} ({body['priced_by']})", COLUMNS,
                    [_row(body["model"])])

    s.emit(body, human)


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Read")(catalog)
