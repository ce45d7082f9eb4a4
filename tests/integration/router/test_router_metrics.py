"""The router's GET /metrics in-process: the admin key guards the exposition unless
TOLLWAY_METRICS_OPEN; `?window=` (the ledger's card) is a 400 naming it here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from services.common.settings import Settings
from services.router.app import create_app as router_app


async def get(app: Any, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://router") as client:
        return await client.get(path, headers=headers or {})


async def test_with_an_admin_key_the_exposition_needs_it_unless_opened(tmp_path: Path) -> None:
    settings = Settings(artifacts_dir=tmp_path, access_log=False, admin_key=SecretStr("adm-1"),
                        health_check_interval_s=0)
    assert (await get(router_app(settings), "/metrics")).status_code == 401
    assert (await get(router_app(settings), "/metrics", {"authorization": "Bearer adm-1"})).status_code == 200
    opened = settings.model_copy(update={"metrics_open": True})
    resp = await get(router_app(opened), "/metrics")
    assert resp.status_code == 200 and "tollway_router_providers" in resp.text


async def test_a_window_where_there_is_no_card_is_a_400_naming_it(tmp_path: Path) -> None:
    resp = await get(router_app(Settings(artifacts_dir=tmp_path, access_log=False, health_check_interval_s=0)),
                     "/metrics?window=hour")
    assert resp.status_code == 400 and resp.json()["error"]["field"] == "window"
