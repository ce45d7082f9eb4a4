"""With TOLLWAY_ADMIN_KEY set, changing the registry needs it; reading and /select do not."""

from pathlib import Path

from services.common.clock import FrozenClock
from services.common.settings import Settings
from services.router.app import create_app
from tests.integration.router.router_support import README_PROVIDER, serving


async def test_registry_changes_need_the_admin_key(tmp_path: Path, clock: FrozenClock) -> None:
    app = create_app(Settings(artifacts_dir=tmp_path, access_log=False, admin_key="adm-1"), clock=clock)
    async with serving(app) as client:
        missing = await client.post("/register", json=README_PROVIDER)
        assert missing.status_code == 401 and missing.json()["error"]["type"] == "unauthorized"
        wrong = await client.post("/register", json=README_PROVIDER, headers={"x-admin-key": "adm-2"})
        assert wrong.status_code == 403 and "adm-1" not in wrong.text
        assert (await client.get("/providers")).json()["providers"] == []  # nothing was registered
        ok = await client.post("/register", json=README_PROVIDER, headers={"authorization": "Bearer adm-1"})
        assert ok.status_code in (200, 201)
        assert (await client.delete("/providers/my-gpt4")).status_code == 401
        assert (await client.get("/providers/my-gpt4")).status_code == 200
        select = await client.post("/select", json={"requirements": {"model": "gpt-4"}})
        assert select.status_code == 200 and select.json()["provider"] == "my-gpt4"
        assert (await client.get("/health")).status_code == 200
