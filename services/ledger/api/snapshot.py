"""GET /budgets/snapshot: which runs have a budget, long-polled (?after=<version>&wait=<s>).

With `after` equal to the current version the answer waits until the version moves or `wait`
(at most 60 s) elapses; any other `after` (older, or ahead after a reset) is answered at once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.requests import Request

from services.common.http.responses import JSONResponse
from services.common.money import from_micros
from services.ledger.budgets.model import RUN, SCOPES
from services.ledger.context import ledger

router = APIRouter(tags=["budgets"])


@router.get("/budgets/snapshot")
async def budget_snapshot(request: Request,
                          after: Annotated[int | None, Query(ge=0)] = None,
                          wait: Annotated[float, Query(ge=0, allow_inf_nan=False)] = 0.0,
                          ) -> JSONResponse:
    ctx = ledger(request)
    await ctx.signal.answer_when_changed(after, wait)
    version, ids, caps = await ctx.store.snapshot()
    return JSONResponse({"version": version, "run_ids": ids.get(RUN, []),
                         "scoped": {scope: ids.get(scope, []) for scope in SCOPES if scope != RUN},
                         "caps": {budget: from_micros(micros) for budget, micros in caps.items()}})
