"""`tollway alerts list | ack ID | evaluate | deliveries [--failed]`, `alerts rules
[list | create | update | delete]` and `alerts channels [list | create | delete]`: the ledger's
alerts (GET /alerts?state=, POST /alerts/{id}/ack, POST /alerts/evaluate, GET
/alerts/deliveries?status=, the CRUD of /alerts/rules and /alerts/channels; admin key;
docs/alerts.md). A ledger older than alerting says so (exit 1)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from services.cli.client import Api, CliError, UsageError
from services.cli.documents import read_document
from services.cli.session import JsonFlag, Session, pairs, session

app = typer.Typer(help="Alerts: what is firing, acknowledging it, the rules, channels and deliveries.",
                  no_args_is_help=True)
rules_app = typer.Typer(help="Alert rules: list (the default), create, update, delete.")
channels_app = typer.Typer(help="Alert channels (webhook, Slack, email): list (the default), create, delete.")
app.add_typer(rules_app, name="rules")
app.add_typer(channels_app, name="channels")

RULE_COLUMNS = ["rule_id", "name", "metric", "operator", "threshold", "window", "filters", "severity", "channels",
                "enabled"]
CHANNEL_COLUMNS = ["channel_id", "kind", "url", "events", "secret"]
DELIVERY_COLUMNS = ["delivery_id", "channel_id", "kind", "subject", "status", "attempts", "last_error"]


def fetch(api: Api, path: str, **kw: Any) -> Any:
    body = api.request(kw.pop("method", "GET"), "ledger", path, missing_ok=True, access="admin", **kw)
    if body is None:
        raise CliError(f"the ledger at {api.url('ledger')} has no alerts API ({path} is missing): it is older"
                       " than alerting")
    return body


def _items(body: Any, name: str) -> list[dict[str, Any]]:
    return body if isinstance(body, list) else body.get(name, [])


def _flat(value: Any) -> Any:
    return ", ".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else value


def _show(s: Session, title: str, columns: list[str], items: list[dict[str, Any]]) -> None:
    s.table(title, columns, [[_flat(x.get(k)) for k in columns] for x in items])


def _listing(ctx: typer.Context, json_out: bool, what: str, columns: list[str]) -> None:
    """GET /alerts/{what}: rules or channels, as a table or the ledger's JSON."""
    s = session(ctx, json_out)
    body = fetch(s.api, f"/alerts/{what}")
    items = _items(body, what)
    s.emit(body, lambda: _show(s, f"{len(items)} {what}", columns, items))


def _delete(ctx: typer.Context, json_out: bool, what: str, item_id: str) -> None:
    s = session(ctx, json_out)
    body = fetch(s.api, f"/alerts/{what}s/{item_id}", method="DELETE")
    s.emit(body, lambda: s.say(f"deleted {what} {item_id}"))


@app.command("list")
def list_(ctx: typer.Context,
          state: Annotated[str | None, typer.Option(help="Only firing, acknowledged or resolved.")] = None,
          json_out: JsonFlag = False) -> None:
    """Alerts, newest first, with their state and severity."""
    s = session(ctx, json_out)
    body = fetch(s.api, "/alerts", params={"state": state})
    items = _items(body, "alerts")
    keys = ["alert_id", "rule_id", "severity", "state", "value", "fired_at", "summary"]
    s.emit(body, lambda: _show(s, f"{len(items)} alerts", keys, items))


@app.command()
def ack(ctx: typer.Context, alert_id: str,
        note: Annotated[str | None, typer.Option(help="Why, or who is on it (kept in its history).")] = None,
        json_out: JsonFlag = False) -> None:
    """Acknowledge a firing alert: it stays open until it resolves."""
    s = session(ctx, json_out)
    body = fetch(s.api, f"/alerts/{alert_id}/ack", method="POST", json_body={"note": note} if note else None)
    s.emit(body, lambda: s.say(f"acknowledged {alert_id}"))


@app.command()
def evaluate(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """Evaluate every rule now (the ledger does it every TOLLWAY_ALERT_INTERVAL_S): what fired,
    what resolved, and each rule's value."""
    s = session(ctx, json_out)
    body = fetch(s.api, "/alerts/evaluate", method="POST")

    def human() -> None:
        s.say(f"fired: {', '.join(body['fired']) or 'none'}; resolved: {', '.join(body['resolved']) or 'none'}")
        s.table("rule values", ["rule_id", "value"], [[k, v] for k, v in sorted(body["values"].items())])

    s.emit(body, human)


@app.command()
def deliveries(ctx: typer.Context,
               failed: Annotated[bool, typer.Option("--failed", help="Only the failed ones.")] = False,
               status: Annotated[str | None, typer.Option(help="pending, delivered or failed.")] = None,
               kind: Annotated[str | None, typer.Option(
                   help="alert.firing, alert.resolved, budget.threshold or summary.daily.")] = None,
               limit: Annotated[int | None, typer.Option(help="At most this many.", min=1)] = None,
               json_out: JsonFlag = False) -> None:
    """Notifications to the channels, newest first: their status, attempts and last error."""
    s = session(ctx, json_out)
    if failed and status not in (None, "failed"):
        raise UsageError("--failed and --status disagree: give one")
    body = fetch(s.api, "/alerts/deliveries", params={"status": "failed" if failed else status, "kind": kind,
                                                      "limit": limit})
    s.emit(body, lambda: _show(s, f"{len(body)} deliveries", DELIVERY_COLUMNS, body))


# -- rules -----------------------------------------------------------------------------------------

def _from_file(file: Path | None) -> dict[str, Any]:
    if file is None:
        return {}
    doc = read_document(file)
    if not isinstance(doc, dict):
        raise UsageError(f"{file} holds no object")
    return doc


Opt = typer.Option
NameOpt = Annotated[str | None, Opt(help="A name for people (create: default the rule id).")]
MetricOpt = Annotated[str | None, Opt(help="cost, requests, tokens, error_rate, cache_hit_rate, p95_latency_ms,"
                                           " p99_latency_ms, budget_percent or spend_anomaly.")]
OperatorOpt = Annotated[str | None, Opt(help="'>', '>=', '<' or '<='.")]
ThresholdOpt = Annotated[str | None, Opt(help="A decimal (rates 0 to 1).")]
WindowOpt = Annotated[str | None, Opt(help="<n>s, <n>m, <n>h or <n>d (1 minute to 30 days).")]
SeverityOpt = Annotated[str | None, Opt(help="info, warning or critical.")]
FilterOpt = Annotated[list[str], Opt("--filter", help="NAME=VALUE (provider, model, team, ...); repeat.")]
ChannelOpt = Annotated[list[str], Opt("--channel", help="A channel to tell; repeat (none: every alerts channel).")]
BudgetOpt = Annotated[str | None, Opt(help="budget_percent: SCOPE=ID, e.g. run=my-run.")]
EnabledOpt = Annotated[bool | None, Opt("--enabled/--disabled", help="Evaluate it or keep it idle.")]
FileOpt = Annotated[Path | None, Opt("--file", help="The rule as JSON or YAML (options override its fields).")]


def _rule_fields(name: str | None, metric: str | None, operator: str | None, threshold: str | None,
                 window: str | None, severity: str | None, filters: list[str], channels: list[str],
                 budget: str | None, enabled: bool | None) -> dict[str, Any]:
    fields: dict[str, Any] = {k: v for k, v in (("name", name), ("metric", metric), ("operator", operator),
                                                 ("threshold", threshold), ("window", window),
                                                 ("severity", severity), ("enabled", enabled)) if v is not None}
    if filters:
        fields["filters"] = pairs(filters, "--filter")
    if channels:
        fields["channels"] = channels
    if budget is not None:
        scope, scope_id = next(iter(pairs([budget], "--budget").items()))
        fields["budget"] = {"scope": scope, "scope_id": scope_id}
    return fields


def _list_commands(group: typer.Typer, what: str, columns: list[str], doc: str) -> None:
    """`alerts WHAT` and `alerts WHAT list`: the same listing."""

    def listing(ctx: typer.Context, json_out: JsonFlag = False) -> None:
        if ctx.invoked_subcommand is None:
            _listing(ctx, json_out, what, columns)

    listing.__doc__ = doc
    group.callback(invoke_without_command=True)(listing)
    group.command("list", help=doc)(listing)


_list_commands(rules_app, "rules", RULE_COLUMNS, "The alert rules: metric, threshold, window, scope, severity,"
               " channels.")
_list_commands(channels_app, "channels", CHANNEL_COLUMNS, "The alert channels, secrets masked as the ledger"
               " shows them.")


@rules_app.command("create")
def create_rule(ctx: typer.Context, rule_id: str, name: NameOpt = None, metric: MetricOpt = None,
                operator: OperatorOpt = None, threshold: ThresholdOpt = None, window: WindowOpt = None,
                severity: SeverityOpt = None, filters: FilterOpt = [], channels: ChannelOpt = [],  # noqa: B006
                budget: BudgetOpt = None, enabled: EnabledOpt = None, file: FileOpt = None,
                json_out: JsonFlag = False) -> None:
    """Create a rule (exit 1 with the ledger's 409 if RULE_ID exists: use update)."""
    s = session(ctx, json_out)
    rule = {"name": rule_id, **_from_file(file), "rule_id": rule_id, **_rule_fields(
        name, metric, operator, threshold, window, severity, filters, channels, budget, enabled)}
    body = fetch(s.api, "/alerts/rules", method="POST", json_body=rule)
    s.emit(body, lambda: _show(s, f"created rule {rule_id}", RULE_COLUMNS, [body]))


@rules_app.command("update")
def update_rule(ctx: typer.Context, rule_id: str, name: NameOpt = None, metric: MetricOpt = None,
                operator: OperatorOpt = None, threshold: ThresholdOpt = None, window: WindowOpt = None,
                severity: SeverityOpt = None, filters: FilterOpt = [], channels: ChannelOpt = [],  # noqa: B006
                budget: BudgetOpt = None, enabled: EnabledOpt = None, file: FileOpt = None,
                json_out: JsonFlag = False) -> None:
    """Change the fields given of an existing rule (the rest stay as they are)."""
    s = session(ctx, json_out)
    changes = {**_from_file(file), **_rule_fields(name, metric, operator, threshold, window, severity, filters,
                                                  channels, budget, enabled)}
    if not changes:
        raise UsageError("say what to change: --threshold, --window, --enabled/--disabled, ... or --file")
    current = fetch(s.api, f"/alerts/rules/{rule_id}")
    body = fetch(s.api, f"/alerts/rules/{rule_id}", method="PUT",
                 json_body={**current, **changes, "rule_id": rule_id})
    s.emit(body, lambda: _show(s, f"updated rule {rule_id}", RULE_COLUMNS, [body]))


@rules_app.command("delete")
def delete_rule(ctx: typer.Context, rule_id: str, json_out: JsonFlag = False) -> None:
    """Delete a rule (its open alert resolves at the next evaluation)."""
    _delete(ctx, json_out, "rule", rule_id)


# -- channels --------------------------------------------------------------------------------------

@channels_app.command("create")
def create_channel(
        ctx: typer.Context, channel_id: str,
        kind: Annotated[str | None, Opt(help="webhook (needs --url, --secret), slack (--url) or email (--file).")
                        ] = None,
        url: Annotated[str | None, Opt(help="Where a webhook or Slack message goes.")] = None,
        secret: Annotated[str | None, Opt(
            help="A webhook's signing secret (16+ characters; env TOLLWAY_ALERT_CHANNEL_SECRET).",
            envvar="TOLLWAY_ALERT_CHANNEL_SECRET", show_envvar=False)] = None,
        events: Annotated[list[str], Opt("--event", help="alerts, budget, summary; repeat (default: all).")
                          ] = [],  # noqa: B006
        file: Annotated[Path | None, Opt("--file", help="The channel as JSON or YAML (an email channel's smtp).")
                        ] = None,
        json_out: JsonFlag = False) -> None:
    """Create a channel; its secret is sent, never shown back."""
    s = session(ctx, json_out)
    channel = {**_from_file(file), "channel_id": channel_id}
    channel.update({k: v for k, v in (("kind", kind), ("url", url), ("secret", secret)) if v is not None})
    if events:
        channel["events"] = events
    body = fetch(s.api, "/alerts/channels", method="POST", json_body=channel)
    s.emit(body, lambda: _show(s, f"created channel {channel_id}", CHANNEL_COLUMNS, [body]))


@channels_app.command("delete")
def delete_channel(ctx: typer.Context, channel_id: str, json_out: JsonFlag = False) -> None:
    """Delete a channel (rules naming it skip it)."""
    _delete(ctx, json_out, "channel", channel_id)
