"""The ledger's /dashboard in headless Chromium (Debian's `chromium`, driven by Playwright; nothing
downloaded): after known requests its numbers equal the ledger's API, a new receipt appears without
a reload, a tenant's page shows none of another tenant's data, and screenshots at laptop and phone
width go to artifacts/dashboard/ for people to look at."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e.conftest import register, running, wait_until
from tests.e2e.swarm import Swarm

ADMIN_KEY = "dashboard-admin-key"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "dashboard"
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def swarm(tmp_path_factory):
    with running(Swarm(tmp_path_factory.mktemp("swarm"), admin_key=ADMIN_KEY)) as s:
        yield s


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def tenants(swarm: Swarm) -> dict[str, dict]:
    """Two tenants (orgs), each with a key, each having spent on its own run and provider."""
    with httpx.Client(timeout=30, headers=swarm.admin) as http:
        for name in ("dash-a", "dash-b"):
            register(http, swarm, {"name": f"{name}-prov", "model": f"{name}-model", "context_window": 8192,
                                   "input_per_mtok": "10", "output_per_mtok": "30",
                                   "endpoint": swarm.url("simulator")})
        keys = {}
        for org in ("dash-a", "dash-b"):
            resp = http.post(swarm.url("ledger") + "/keys", json={"name": org, "org": org, "team": f"{org}-team"})
            assert resp.status_code == 201, resp.text
            keys[org] = resp.json()
        swarm.wait_for_model("dash-a-model")
        swarm.wait_for_model("dash-b-model")
        wait_until(lambda: httpx.get(swarm.url("gateway") + "/health").json()["keys"]["keys"] >= 2,
                   what="the gateway knows the keys")
        for org, n in (("dash-a", 2), ("dash-b", 1)):
            for i in range(n):
                chat(swarm, keys[org]["secret"], f"{org}-model", f"{org}-run", f"hello {i}")
        wait_until(lambda: booked(swarm, "dash-a-run") == 2 and booked(swarm, "dash-b-run") == 1,
                   what="receipts booked")
        set_budget = http.post(swarm.url("ledger") + "/budget",
                               json={"scope": "org", "scope_id": "dash-a", "budget_usd": "0.01"})
        assert set_budget.status_code in (200, 201), set_budget.text
    return keys


def chat(swarm: Swarm, secret: str, model: str, run: str, prompt: str) -> dict:
    resp = httpx.post(swarm.url("gateway") + "/v1/chat/completions", timeout=30,
                      headers={"authorization": f"Bearer {secret}", "x-tollway-run": run},
                      json={"model": model, "max_tokens": 20, "messages": [{"role": "user", "content": prompt}]})
    assert resp.status_code == 200, resp.text
    return {"request_id": resp.headers["x-tollway-request-id"], "cost_usd": resp.headers["x-tollway-cost-usd"]}


def booked(swarm: Swarm, run: str) -> int:
    return httpx.get(swarm.url("ledger") + f"/receipts/{run}", headers=swarm.admin).json()["count"]


def ledger(swarm: Swarm, path: str, key: str = ADMIN_KEY):
    resp = httpx.get(swarm.url("ledger") + path, headers={"authorization": f"Bearer {key}"}, timeout=10)
    assert resp.status_code == 200, resp.text
    return json.loads(resp.content, parse_float=Decimal)


def open_dashboard(browser, swarm: Swarm, key: str, viewport: dict) -> Page:
    page = browser.new_page(viewport=viewport)
    page.goto(swarm.url("ledger") + "/dashboard")
    page.fill("#key", key)
    page.click("#keyform button")
    expect(page.locator("#by-provider[data-loaded='1']")).to_have_count(1, timeout=20_000)
    expect(page.locator("#live")).to_have_text("live", timeout=20_000)
    return page


def cells(page: Page, table: str) -> dict[str, list[str]]:
    rows = page.locator(f"#{table} tr").all_inner_texts()[1:]
    return {r.split("\t")[0]: r.split("\t")[1:] for r in rows}


def test_the_admins_page_shows_the_ledgers_numbers(browser, swarm: Swarm, tenants):
    page = open_dashboard(browser, swarm, ADMIN_KEY, LAPTOP)
    day = ledger(swarm, "/metrics?window=hour")
    expect(page.locator("#spent-24h")).to_have_text(f"${day['totals']['cost_usd']:.6f}")
    expect(page.locator("#requests-24h")).to_have_text(str(day["totals"]["requests"]))
    expect(page.locator("#who")).to_have_text("admin")
    by_provider = cells(page, "by-provider")
    for provider, tally in day["by_provider"].items():
        assert by_provider[provider][0] == f"${tally['cost_usd']:.6f}"
        assert by_provider[provider][1] == str(tally["requests"])
    teams = cells(page, "by-team")
    assert set(teams) == {"dash-a-team", "dash-b-team"}
    budget = ledger(swarm, "/budgets/org/dash-a")
    gauge = page.locator("[data-budget='org:dash-a'] .spent")
    expect(gauge).to_have_text(
        f"${budget['spent_usd']:.6f} of ${budget['budget_usd']:.6f} ({budget['percent']:.2f} %)")
    # the last complete minute's tiles equal the ledger's minute window, read for that same minute
    minute = page.locator("#minute-note").get_attribute("data-minute")
    bucket = next(b for b in ledger(swarm, "/metrics?window=minute")["buckets"] if b["start"] == minute)
    expect(page.locator("#usd-per-min")).to_have_text(f"${bucket['cost_usd']:.6f}")
    expect(page.locator("#tokens-per-min")).to_have_text(str(bucket["input_tokens"] + bucket["output_tokens"]))
    expect(page.locator("#alerts")).to_have_text("nothing firing")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "dashboard-laptop.png"), full_page=True)
    page.close()


def test_a_new_receipt_appears_without_a_reload(browser, swarm: Swarm, tenants):
    page = open_dashboard(browser, swarm, ADMIN_KEY, LAPTOP)
    page.evaluate("window.__sameDocument = true")
    sent = chat(swarm, tenants["dash-b"]["secret"], "dash-b-model", "dash-b-run", "live one")
    row = page.locator(f"#receipts tr[data-request='{sent['request_id']}']")
    expect(row).to_have_count(1, timeout=20_000)
    expect(row).to_contain_text(f"${Decimal(sent['cost_usd']):.6f}")
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    page.close()


def test_a_tenants_page_shows_none_of_another_tenants_data(browser, swarm: Swarm, tenants):
    page = open_dashboard(browser, swarm, tenants["dash-a"]["secret"], PHONE)
    expect(page.locator("#who")).to_have_text("tenant org:dash-a")
    mine = ledger(swarm, "/metrics?window=hour", tenants["dash-a"]["secret"])
    expect(page.locator("#spent-24h")).to_have_text(f"${mine['totals']['cost_usd']:.6f}")
    assert set(cells(page, "by-provider")) == {"dash-a-prov"}
    assert set(cells(page, "by-team")) == {"dash-a-team"}
    sent = chat(swarm, tenants["dash-a"]["secret"], "dash-a-model", "dash-a-run", "mine, live")
    expect(page.locator(f"#receipts tr[data-request='{sent['request_id']}']")).to_have_count(1, timeout=20_000)
    chat(swarm, tenants["dash-b"]["secret"], "dash-b-model", "dash-b-run", "theirs, live")
    wait_until(lambda: booked(swarm, "dash-b-run") >= 3, what="the other tenant's receipt booked")
    page.wait_for_timeout(1000)  # give a wrongly delivered event the time to show
    body = page.locator("body").inner_text()
    assert "dash-b" not in body
    expect(page.locator("#alerts")).to_have_text("alerts are shown with the admin key")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "dashboard-phone.png"), full_page=True)
    page.close()


def test_the_page_loads_nothing_from_elsewhere(browser, swarm: Swarm, tenants):
    page = browser.new_page(viewport=LAPTOP)
    origins = set()
    page.on("request", lambda r: origins.add(r.url.split("/")[2]))
    page.goto(swarm.url("ledger") + "/dashboard")
    expect(page.locator("#by-provider[data-loaded='1']")).to_have_count(1, timeout=20_000)  # its reads are done
    expect(page.locator("#live")).to_have_text("live", timeout=20_000)  # and its event stream is open
    assert origins == {f"127.0.0.1:{swarm.ports['ledger']}"}
    assert httpx.get(swarm.url("ledger") + "/dashboard/../app.py").status_code == 404
    page.close()
