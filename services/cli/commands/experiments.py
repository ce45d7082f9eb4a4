"""`tollway experiments create|list|show|stop|report`: A/B experiments. The definition lives in the
router (PUT/GET/DELETE /routing/experiments/{name}, contracts/routing_experiment.schema.json); the
result comes from the ledger's receipts (GET /routing/experiments/{name}/report; a virtual key: its
own receipts only). docs/routing.md, docs/cli.md."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from services.cli.client import Api, ApiError, CliError, UsageError
from services.cli.documents import read_document
from services.cli.session import JsonFlag, money, session

app = typer.Typer(help="A/B experiments: create, list, show and stop them (router); how each arm did (ledger).",
                  no_args_is_help=True)
COLUMNS = ["arm", "requests", "errors", "error rate", "p50 ms", "p95 ms", "per request $", "per 1k tokens $",
           "total $"]
ARM_TARGETS = ("provider", "model", "strategy")
ARM_FORM = "NAME:PERCENT:TARGET=VALUE[,TARGET=VALUE] (TARGET provider, model or strategy)"


class Exists(CliError):
    """`create` of a name the router already holds (without --replace)."""


def parse_arm(text: str) -> dict[str, Any]:
    """`control:90:model=gpt-4` or `fast:10:strategy=latency,model=gpt-4` as an arm of the contract;
    the router checks the rest (names, one of provider/model, percentages adding up to 100)."""
    name, _, rest = text.partition(":")
    percent, _, targets = rest.partition(":")
    if not name or not percent or not targets:
        raise UsageError(f"--arm is {ARM_FORM}, not {text!r}")
    try:
        share = float(percent)
    except ValueError:
        raise UsageError(f"--arm {text!r}: the percent {percent!r} is not a number") from None
    arm: dict[str, Any] = {"name": name, "percent": int(share) if share.is_integer() else share}
    for target in targets.split(","):
        key, sep, value = target.partition("=")
        if not sep or key not in ARM_TARGETS or not value:
            raise UsageError(f"--arm {text!r}: {target!r} is not one of {', '.join(t + '=...' for t in ARM_TARGETS)}")
        arm[key] = value
    return arm


def body_from(file: Path | None, arms: list[str], model: str | None, sticky: bool | None) -> dict[str, Any]:
    """The experiment's body: FILE (JSON or YAML, the contract's shape) and/or --arm options; --model
    and --sticky override what the file says."""
    body: dict[str, Any] = {}
    if file is not None:
        data = read_document(file)
        if not isinstance(data, dict):
            raise UsageError(f"{file} holds no experiment (an object with arms, see"
                             " contracts/routing_experiment.schema.json)")
        body = dict(data)
    if arms:
        body["arms"] = [parse_arm(a) for a in arms]
    if not body.get("arms"):
        raise UsageError(f"an experiment needs arms: --arm {ARM_FORM} (repeat), or --file")
    if model is not None:
        body["model"] = model
    if sticky is not None:
        body["sticky"] = sticky
    return body


def _held(api: Api, path: str) -> bool:
    """Whether the router holds an entry at `path` (its 404 names the entry: not held)."""
    try:
        api.get("router", path)
    except ApiError as exc:
        if exc.status == 404:
            return False
        raise
    return True


def _target(arm: dict[str, Any]) -> str:
    return " ".join(f"{k}={arm[k]}" for k in ARM_TARGETS if arm.get(k))


def _arms(body: dict[str, Any]) -> str:
    return "; ".join(f"{a['name']} {a['percent']}% {_target(a)}" for a in body.get("arms", []))


def _state(body: dict[str, Any]) -> str:
    return "running" if body.get("enabled", True) else "stopped"


@app.command()
def create(ctx: typer.Context, name: str,
           arm: Annotated[list[str] | None, typer.Option(
               "--arm", help=f"An arm: {ARM_FORM}; repeat, the percents add up to 100.")] = None,
           model: Annotated[str | None, typer.Option(
               help="The model or alias whose every request the experiment splits (without it: only"
                    " requests naming the experiment).")] = None,
           sticky: Annotated[bool | None, typer.Option(
               "--sticky/--not-sticky", help="The same key always lands in the same arm.")] = None,
           file: Annotated[Path | None, typer.Option(
               help="The experiment as JSON or YAML (contracts/routing_experiment.schema.json).")] = None,
           replace: Annotated[bool, typer.Option(help="Replace an experiment of that name.")] = False,
           json_out: JsonFlag = False) -> None:
    """Create an experiment on the router (PUT /routing/experiments/NAME). Exit 1 when the name is
    taken (without --replace) or the router refuses the body (its message names the field)."""
    s = session(ctx, json_out)
    body = body_from(file, arm or [], model, sticky)
    path = f"/routing/experiments/{name}"
    if not replace and _held(s.api, path):
        raise Exists(f"an experiment named {name} exists already; `tollway experiments show {name}`, or"
                     " create it again with --replace")
    answer = s.api.request("PUT", "router", path, access="admin", json_body=body)
    verb = "created" if answer.get("created") else "replaced"
    s.emit(answer, lambda: s.say(f"{verb} experiment {name}: {_arms(answer['entry'])}"
                                 f"{' for ' + answer['entry']['model'] if answer['entry'].get('model') else ''}"
                                 f" (routing version {answer['version']})"))


@app.command("list")
def list_(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """Every experiment the router holds, running or stopped (GET /routing/experiments)."""
    s = session(ctx, json_out)
    body = s.api.get("router", "/routing/experiments")
    s.emit(body, lambda: s.table(f"{len(body)} experiments", ["name", "state", "model", "sticky", "arms"], [
        [name, _state(e), e.get("model"), e.get("sticky", False), _arms(e)] for name, e in sorted(body.items())]))


@app.command()
def show(ctx: typer.Context, name: str, json_out: JsonFlag = False) -> None:
    """One experiment's definition (exit 4 when the router has none of that name)."""
    s = session(ctx, json_out)
    body = s.api.get("router", f"/routing/experiments/{name}")

    def human() -> None:
        s.say(f"experiment {name}: {_state(body)}, {'sticky' if body.get('sticky') else 'random draw'}"
              f"{', every request for ' + body['model'] if body.get('model') else ', requests naming it'}")
        s.table(None, ["arm", "percent", "target"], [[a["name"], a["percent"], _target(a) or "every provider"]
                                                    for a in body.get("arms", [])])

    s.emit(body, human)


@app.command()
def stop(ctx: typer.Context, name: str,
         delete: Annotated[bool, typer.Option(help="Remove the definition instead of keeping it disabled.")] = False,
         json_out: JsonFlag = False) -> None:
    """Stop splitting traffic: the experiment stays on the router disabled (`enabled: false`), or
    with --delete is removed. Receipts keep their arm, so `report` still works. Exit 4 when there is
    no experiment of that name."""
    s = session(ctx, json_out)
    path = f"/routing/experiments/{name}"
    if delete:
        answer = s.api.delete("router", path, access="admin")
        s.emit(answer, lambda: s.say(f"deleted experiment {name} (its receipts keep their arm:"
                                     f" `tollway experiments report {name}`)"))
        return
    body = s.api.get("router", path)
    try:
        answer = s.api.request("PUT", "router", path, access="admin", json_body={**body, "enabled": False})
    except ApiError as exc:  # the router answered the GET: a refusal here is the write's
        raise ApiError(f"cannot stop experiment {name}: {exc.message}", exc.status, exc.body) from None
    was = "stopped" if body.get("enabled", True) else "was already stopped"
    s.emit(answer, lambda: s.say(f"{was} experiment {name} (routing version {answer['version']}); its report:"
                                 f" `tollway experiments report {name}`"))


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
