"""GET /catalog: the price catalog the router prices registrations from (the shipped rows, with
the operator's TOLLWAY_PRICE_CATALOG over them), `?provider=` to list one provider's rows,
`?model=` (with `api_format=` as a registration would give it) to look one name up the way a
registration is priced: exact name or alias, then the name without its version suffix. The catalog
is read once, when the app is made (`install`): a wrong operator file stops the router there."""

from __future__ import annotations

from pathlib import Path

import structlog
from fastapi import APIRouter, FastAPI
from starlette.requests import Request

from services.common.errors import InvalidRequest, NotFound
from services.common.http.responses import JSONResponse
from services.common.pricing.catalog import PriceCatalog, load_catalog

router = APIRouter(tags=["registry"])
log = structlog.get_logger("tollway.router.catalog")


def install(app: FastAPI, path: Path | None) -> PriceCatalog:
    """Read the shipped catalog, with the operator's file (TOLLWAY_PRICE_CATALOG) over it, for
    `app`'s routes; a file that cannot be read raises PriceCatalogError, naming it."""
    catalog = load_catalog(path)
    app.state.price_catalog = catalog
    log.info("price_catalog_loaded", version=catalog.version, models=len(catalog),
             path=None if path is None else str(path))
    return catalog


def price_catalog(request: Request) -> PriceCatalog:
    catalog: PriceCatalog = request.app.state.price_catalog
    return catalog


def _param(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    if value is not None and not 1 <= len(value.strip()) <= 200:
        raise InvalidRequest(f"{name} must be 1 to 200 characters", field=name)
    return None if value is None else value.strip()


@router.get("/catalog", summary="The price catalog (?provider= to list one provider, ?model= to look one up)")
async def show_catalog(request: Request) -> JSONResponse:
    catalog = price_catalog(request)
    model, provider = _param(request, "model"), _param(request, "provider")
    if model is None:
        rows = [r for r in catalog.rows if provider is None or r.provider == provider.lower()]
        return JSONResponse(catalog.to_json(rows))
    match = catalog.lookup(model if provider is None else f"{provider}/{model}", _param(request, "api_format"))
    if match is None:
        raise NotFound(f"model {model!r} is not in the price catalog ({catalog.priced_by}); a registration for it "
                       "must give its prices", field="model")
    return JSONResponse({"version": catalog.version, "priced_by": catalog.priced_by, **match.to_json()})
