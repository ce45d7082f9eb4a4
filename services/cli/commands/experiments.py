"""`tollway experiments report NAME [--baseline ARM] [--alpha 0.05]`: an A/B experiment's result
from the ledger (GET /routing/experiments/{name}/report; a virtual key: its own receipts only;
docs/routing.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from services.cli.session import JsonFlag, money, session

app = typer.Typer(help="Routing experiments: how each arm did, from the ledger's receipts.", no_args_is_help=True)
COLUMNS = ["arm", "requests", "errors", "error rate", "p50 ms", "p95 ms", "per request $", "per 1k tokens $",
           "total $"]


def _row(name: str, arm: dict[str, Any]) -> list[Any]:
    lat, cost = arm.get("latency_ms", {}), arm.get("cost", {})
    return [name, arm["requests"], arm["errors"], arm.get("error_rate"), lat.get("p50"), lat.get("p95"),
            money(cost.get("per_request_usd")), money(cost.get("per_1k_tokens_usd")), money(cost.get("total_usd"))]


@app.command()
def report(ctx: typer.Context, name: str,
           baseline: Annotated[str | None, typer.Option(help="The arm the others are compared with"
                                                             " (default: the one with the most requests).")] = None,
           alpha: Annotated[float | None, typer.Option(help="Significance level (default 0.05).", min=0, max=0.5)
                            ] = None,
           json_out: JsonFlag = False) -> None:
    """Per arm: requests, error rate, latency, cost; each arm against the baseline; the verdict.
    Exit 4 when no receipt names the experiment."""
    s = session(ctx, json_out)
    body = s.api.get("ledger", f"/routing/experiments/{name}/report", params={"baseline": baseline,
                                                                              "alpha": alpha})

    def human() -> None:
        s.table(f"experiment {name}: {body['requests']} requests, baseline {body.get('baseline')}", COLUMNS,
                [_row(arm, x) for arm, x in body["arms"].items()])
        s.say(f"verdict: {body.get('verdict', '-')}")

    s.emit(body, human)
