"""POST /register: add a provider, update it, or bring a soft-deleted one back.

201 when new, 200 otherwise; `registered_at` survives updates and reactivation. A body that
carries a secret is refused before anything else, without echoing or logging the value. Prices and
the context window a registration leaves out come from the price catalog when it knows the model
(services/common/pricing/registration.py); the answer's `catalog` says which row and fields.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
import structlog
from fastapi import APIRouter
from starlette.requests import Request

from services.common.http.app import contract_body
from services.common.http.body import read_json
from services.common.http.responses import JSONResponse
from services.common.pricing.registration import priced_registration
from services.common.registry.key_env import KeyEnvRule
from services.common.registry.provider import provider_from_registration
from services.router.api.catalog import price_catalog
from services.router.context import router_context
from services.router.ranges import check_registration
from services.router.secret_fields import refuse_secrets

router = APIRouter(tags=["registry"])
log = structlog.get_logger("tollway.router.register")


async def read_registration(request: Request) -> dict[str, Any]:
    """The registration body, free of secrets, its api_key_env an allowed name, and valid against
    its contract (money exact)."""
    try:
        refuse_secrets(orjson.loads(await request.body()), KeyEnvRule.from_settings(router_context(request).settings))
    except orjson.JSONDecodeError:
        pass  # read_json below says what is wrong with it
    body = await read_json(request, "provider_registration", exact=True)
    check_registration(body)
    return body


@router.post("/register", openapi_extra=contract_body("provider_registration"), status_code=201,
             summary="Register, update or reactivate a provider")
async def register(request: Request) -> JSONResponse:
    ctx = router_context(request)
    body, pricing = priced_registration(await read_registration(request), price_catalog(request))
    previous = await ctx.store.get(body["name"])
    provider = replace(provider_from_registration(body, ctx.clock.now(), previous),
                       priced_by=pricing.priced_by, catalog_model=pricing.catalog_model)
    await ctx.store.upsert(provider)
    version = await ctx.changed()
    created = previous is None
    reactivated = previous is not None and not previous.active
    log.info("provider_registered", provider=provider.name, model=provider.model, priced_by=provider.priced_by,
             created=created, reactivated=reactivated, version=version)
    used = None if pricing.match is None else {"model": pricing.catalog_model, "match": pricing.match.how,
                                               "filled": list(pricing.filled)}
    return JSONResponse({"provider": provider.to_json(), "created": created, "reactivated": reactivated,
                         "catalog": used}, status_code=201 if created else 200)
