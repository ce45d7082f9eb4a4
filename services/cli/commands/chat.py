"""`tollway chat "prompt"`: one request through the gateway; prints the answer, the routing
decision and the cost. Plain: POST /route (answer, decision and receipt in one body). --stream:
POST /v1/chat/completions with "stream": true, the text as it comes, then the receipt from the
ledger (a stream's cost is known at its end)."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.markup import escape

from services.cli.client import Api
from services.cli.exits import Exit
from services.cli.session import JsonFlag, Session, money, session
from services.common import jsonio

RECEIPT_WAIT_S = 5.0  # receipts are shipped to the ledger every TOLLWAY_SHIP_INTERVAL_S (0.2 s)


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Use")(chat)


def chat(ctx: typer.Context,
         prompt: Annotated[str, typer.Argument(help="What to ask.")],
         model: Annotated[str, typer.Option(help="The model (or alias) to ask.")] = "gpt-4",
         stream: Annotated[bool, typer.Option(help="Print the answer as it is generated.")] = False,
         max_tokens: Annotated[int, typer.Option(help="Longest answer, in tokens.")] = 256,
         run: Annotated[str | None, typer.Option(help="The run to charge (X-Tollway-Run).")] = None,
         agent: Annotated[str | None, typer.Option(help="The agent's name (X-Tollway-Agent).")] = None,
         optimization: Annotated[str | None, typer.Option(
             help="Routing strategy: cost, latency, balanced, smart, ...")] = None,
         json_out: JsonFlag = False) -> int:
    """Ask through the gateway: the answer, who served it and why, and what it cost."""
    s = session(ctx, json_out)
    payload = {"model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens}
    if stream:
        return _stream(s, payload, run, agent, optimization)
    body: dict[str, Any] = {"payload": payload, "requirements": {"model": model}}
    for name, value in (("run_id", run), ("agent", agent), ("optimization", optimization)):
        if value is not None:
            body[name] = value
    answer = s.api.post("gateway", "/route", body, access="client")
    s.emit(answer, lambda: _print(s, _text(answer.get("response")), answer.get("decision"), answer.get("receipt")))
    return Exit.OK


def _text(response: Any) -> str:
    try:
        return response["choices"][0]["message"]["content"] or ""
    except (TypeError, KeyError, IndexError):
        return jsonio.dumps(response).decode()


def _print(s: Session, text: str, decision: dict[str, Any] | None, receipt: dict[str, Any] | None) -> None:
    s.console.print(text, markup=False)
    s.say("")
    if decision:
        s.say(f"[bold]decision[/bold]  {decision.get('provider')} ({decision.get('model')}) by"
              f" {decision.get('strategy')}: {escape(str(decision.get('reason')))}")
        alternatives = [a["provider"] for a in decision.get("alternatives") or []]
        if alternatives:
            s.say(f"          alternatives: {', '.join(alternatives)}")
    _print_cost(s, receipt)


def _stream(s: Session, payload: dict[str, Any], run: str | None, agent: str | None,
            optimization: str | None) -> int:
    headers = {name: value for name, value in (("x-tollway-run", run), ("x-tollway-agent", agent),
                                                ("x-tollway-optimization", optimization)) if value is not None}
    parts: list[str] = []
    with s.api.stream("POST", "gateway", "/v1/chat/completions", access="client",
                      json_body={**payload, "stream": True}, headers=headers) as response:
        request_id = response.headers.get("x-tollway-request-id")
        provider = response.headers.get("x-tollway-provider")
        run_id = response.headers.get("x-tollway-run")
        for line in response.iter_lines():
            if not line.startswith("data:") or line.strip() == "data: [DONE]":
                continue
            for choice in jsonio.loads(line[5:].strip()).get("choices") or []:
                delta = (choice.get("delta") or {}).get("content") or ""
                if delta:
                    parts.append(delta)
                    if s.json:
                        s.line({"delta": delta})
                    else:
                        s.console.print(delta, end="", markup=False)
    receipt = _receipt(s.api, run_id, request_id)
    if s.json:
        s.line({"request_id": request_id, "provider": provider, "run_id": run_id, "text": "".join(parts),
                "receipt": receipt})
    else:
        s.say("")
        s.say(f"[bold]served by[/bold] {provider}")
        _print_cost(s, receipt)
    return Exit.OK


def _print_cost(s: Session, receipt: dict[str, Any] | None) -> None:
    if receipt:
        s.say(f"[bold]cost[/bold]      {money(receipt.get('cost_usd'))} for {receipt.get('input_tokens')} in +"
              f" {receipt.get('output_tokens')} out tokens, {receipt.get('provider')}"
              f"{' after fallback' if receipt.get('fallback') else ''}; request {receipt.get('request_id')},"
              f" run {receipt.get('run_id')}")
    else:
        s.say("[bold]cost[/bold]      the receipt has not reached the ledger yet (`tollway receipts show`)")


def _receipt(api: Api, run_id: str | None, request_id: str | None) -> dict[str, Any] | None:
    """The stream's receipt, once the gateway has shipped it to the ledger."""
    if not run_id or not request_id:
        return None
    deadline = time.monotonic() + RECEIPT_WAIT_S
    while True:
        for r in api.get("ledger", f"/receipts/{run_id}").get("receipts", []):
            if r.get("request_id") == request_id:
                return r
        if time.monotonic() > deadline:
            return None
        time.sleep(0.2)
