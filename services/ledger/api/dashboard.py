"""GET /dashboard: the live dashboard, static files shipped inside the package
(services/ledger/dashboard/static: HTML, CSS, JS and the vendored uPlot). No build step and
nothing fetched from elsewhere: the page reads this ledger's JSON endpoints and its GET /events
with the key the user gives it, so a virtual key sees only its tenant's data. docs/dashboard.md."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from starlette.responses import FileResponse, RedirectResponse, Response

from services.common.errors import NotFound

router = APIRouter(tags=["dashboard"])
STATIC = Path(__file__).resolve().parent.parent / "dashboard" / "static"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8"}
FILES = {str(p.relative_to(STATIC)): p for p in STATIC.rglob("*") if p.suffix in TYPES}


@router.get("/dashboard", include_in_schema=False)
async def dashboard_page() -> Response:
    return RedirectResponse("/dashboard/", status_code=307)


@router.get("/dashboard/{name:path}", include_in_schema=False)
async def dashboard_file(name: str) -> Response:
    path = FILES.get(name or "index.html")
    if path is None:
        raise NotFound(f"the dashboard has no file {name[:128]!r}")
    # the page is served with the running version's files: a browser checks back on every load
    return FileResponse(path, media_type=TYPES[path.suffix], headers={"cache-control": "no-cache",
                                                                      "x-content-type-options": "nosniff"})
