"""GET /routing/experiments/{name}/report: an A/B experiment's result from the receipts it routed
(services/ledger/experiments/report.py). The router holds the experiment's definition (its arms
and split); the ledger holds every receipt, each naming its experiment and arm, with its exact
cost, tokens, status and latency: the report is read here. A virtual key sees its own tenant's
receipts only."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.requests import Request

from services.common.errors import InvalidRequest, NotFound
from services.common.http.responses import JSONResponse
from services.ledger.access import reader
from services.ledger.context import ledger
from services.ledger.experiments import report

router = APIRouter(tags=["experiments"])
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")  # a routing entry's name (routing_config.schema.json)
ARM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # an arm's name (routing_experiment.schema.json)


@router.get("/routing/experiments/{name}/report")
async def experiment_report(request: Request, name: str,
                            baseline: Annotated[str | None, Query(max_length=64)] = None,
                            alpha: Annotated[float, Query(gt=0, lt=0.5)] = report.ALPHA) -> JSONResponse:
    ctx = ledger(request)
    if not NAME.fullmatch(name):
        raise InvalidRequest("an experiment's name must match [A-Za-z0-9][A-Za-z0-9._:-]{0,127}", field="name")
    if baseline is not None and not ARM.fullmatch(baseline):
        raise InvalidRequest("an arm's name must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}", field="baseline")
    tenant = (await reader(request)).tenant
    samples = await ctx.store.experiment_samples(name, tenant)
    if not samples:
        raise NotFound(f"no receipt names experiment {name} (yet): its requests are counted once the gateway"
                       " has shipped their receipts")
    if baseline is not None and all(s.arm != baseline for s in samples):
        raise InvalidRequest(f"experiment {name} has no receipts from an arm named {baseline}", field="baseline")
    return JSONResponse(report.build(name, samples, baseline, alpha))
