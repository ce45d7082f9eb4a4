"""Rate limits on real processes: two gateway replicas share one limit through Redis, every
answer carries X-RateLimit-*, a refusal is a 429 naming the limit, and Retry-After is honest."""

import asyncio
import json
import secrets
import time

import httpx
import pytest

from tests.e2e.swarm import Swarm

LIMIT, WINDOW_S = 6, 3


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    root = tmp_path_factory.mktemp("limits")
    s = Swarm(root, admin_key="adm-" + secrets.token_hex(8),
              extra_env={"TOLLWAY_RATE_LIMIT_BACKEND": "redis", "TOLLWAY_REDIS_URL": "redis://127.0.0.1:6379/0"})
    s.start_all()
    s.start("gateway", name="gateway2", env={"TOLLWAY_ARTIFACTS_DIR": str(root / "replica2")})
    yield s
    s.stop_all()


def test_two_replicas_enforce_one_key_limit_together(replicas: Swarm) -> None:
    s = replicas
    with httpx.Client(timeout=30) as http:
        http.post(s.url("router") + "/register", headers=s.admin,
                  json={"name": "rl-sim", "model": "rl-model", "context_window": 4096, "input_per_mtok": "1",
                        "output_per_mtok": "2", "endpoint": s.url("simulator")})
        limit_name = "rpm-" + secrets.token_hex(3)
        key = http.post(s.url("ledger") + "/keys", headers=s.admin,
                        json={"org": "acme", "limits": [{"name": limit_name, "algorithm": "sliding_log",
                                                          "limit": LIMIT, "window_s": WINDOW_S}]}).json()
        s.wait_for_model("rl-model")
    chat = {"model": "rl-model", "max_tokens": 3, "messages": [{"role": "user", "content": "hi"}]}
    auth = {"authorization": f"Bearer {key['secret']}"}
    urls = [s.url("gateway") + "/v1/chat/completions", s.url("gateway2") + "/v1/chat/completions"]

    def known_to_both() -> bool:
        return all(httpx.get(u.replace("/v1/chat/completions", "/health")).json()["keys"]["keys"] for u in urls)

    deadline = time.monotonic() + 5
    while not known_to_both() and time.monotonic() < deadline:
        time.sleep(0.05)

    async def hammer() -> tuple[list[httpx.Response], float]:
        async with httpx.AsyncClient(timeout=30) as client:
            started = time.monotonic()
            answers = await asyncio.gather(*[client.post(urls[i % 2], json=chat, headers=auth) for i in range(40)])
            return list(answers), time.monotonic() - started

    answers, elapsed = asyncio.run(hammer())
    codes = [a.status_code for a in answers]
    assert set(codes) <= {200, 429}, codes
    windows = 1 + int(elapsed // WINDOW_S)  # a burst longer than the window may rightly get more
    assert 1 <= codes.count(200) <= LIMIT * windows, (codes.count(200), elapsed)
    if elapsed < WINDOW_S:
        assert codes.count(200) == LIMIT
    ok = next(a for a in answers if a.status_code == 200)
    assert ok.headers["x-ratelimit-limit"] == str(LIMIT) and int(ok.headers["x-ratelimit-remaining"]) < LIMIT
    refused = next(a for a in answers if a.status_code == 429)
    err = refused.json()["error"]
    assert err["type"] == "rate_limited" and err["limit"] == limit_name and limit_name in err["message"]
    wait = int(refused.headers["retry-after"])
    # the log holds entries stamped by both replicas' clocks a hair apart: up to a second of rounding
    assert 1 <= wait <= WINDOW_S + 1 and refused.headers["x-ratelimit-remaining"] == "0"
    # honest: once the stated wait is over, the same request is admitted (the window has moved)
    time.sleep(wait)
    again = httpx.post(urls[1], json=chat, headers=auth, timeout=30)
    assert again.status_code == 200, again.text


def test_operators_see_usage_and_violations(replicas: Swarm) -> None:
    s = replicas
    with httpx.Client(timeout=30) as http:
        name = "ip-" + secrets.token_hex(3)
        assert http.post(s.url("ledger") + "/limits", headers=s.admin,
                         json={"name": name, "dimension": "ip", "algorithm": "fixed_window", "limit": 2,
                               "window_s": 3600}).status_code == 201
        http.post(s.url("router") + "/register", headers=s.admin,
                  json={"name": "rl-sim", "model": "rl-model", "context_window": 4096, "input_per_mtok": "1",
                        "output_per_mtok": "2", "endpoint": s.url("simulator")})
        s.wait_for_model("rl-model")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(
                x["name"] == name for x in http.get(s.url("gateway") + "/admin/limits",
                                                    headers=s.admin).json()["published_limits"]):
            time.sleep(0.05)
        chat = {"model": "rl-model", "max_tokens": 3, "messages": [{"role": "user", "content": "hi"}]}
        codes = [http.post(s.url("gateway") + "/v1/chat/completions", json=chat).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        assert http.get(s.url("gateway") + "/admin/limits/violations").status_code == 401
        violations = http.get(s.url("gateway") + "/admin/limits/violations", headers=s.admin).json()
        assert violations["violations"][name] == 1
        standing = http.get(s.url("gateway") + "/admin/limits/usage?ip=127.0.0.1", headers=s.admin).json()
        mine = next(x for x in standing["limits"] if x["name"] == name)
        assert (mine["used"], mine["remaining"]) == (2, 0)
        # the other replica shares the count through Redis: the same caller is refused there too
        assert http.post(s.url("gateway2") + "/v1/chat/completions", json=chat).status_code == 429
        assert http.delete(s.url("ledger") + f"/limits/{name}?dimension=ip", headers=s.admin).status_code == 200


def _model(s: Swarm, http: httpx.Client) -> dict:
    """The simulator registered as rl-model; a chat request for it."""
    http.post(s.url("router") + "/register", headers=s.admin,
              json={"name": "rl-sim", "model": "rl-model", "context_window": 4096, "input_per_mtok": "1",
                    "output_per_mtok": "2", "endpoint": s.url("simulator")})
    s.wait_for_model("rl-model")
    return {"model": "rl-model", "max_tokens": 3, "messages": [{"role": "user", "content": "hi"}]}


def _key_with_limit(s: Swarm, http: httpx.Client, limit_name: str, limit: int, **extra: object) -> dict:
    answer = http.post(s.url("ledger") + "/keys", headers=s.admin,
                       json={"org": "acme", **extra, "limits": [{"name": limit_name, "algorithm": "sliding_log",
                                                                 "limit": limit, "window_s": 3600}]})
    assert answer.status_code == 201, answer.text
    return answer.json()


def _wait_known(s: Swarm, http: httpx.Client, key_id: str) -> None:
    for gw in ("gateway", "gateway2"):
        deadline = time.monotonic() + 5
        while http.get(s.url(gw) + f"/admin/limits/usage?key_id={key_id}", headers=s.admin).status_code == 404:
            assert time.monotonic() < deadline, f"{gw} never learnt of {key_id}"
            time.sleep(0.05)


def test_a_limit_reset_lets_a_refused_caller_through_at_once_on_every_replica(replicas: Swarm) -> None:
    s = replicas
    with httpx.Client(timeout=30) as http:
        chat = _model(s, http)
        name = "hour-" + secrets.token_hex(3)
        key = _key_with_limit(s, http, name, 2)
        _wait_known(s, http, key["key_id"])
        auth = {"authorization": f"Bearer {key['secret']}"}
        codes = [http.post(s.url("gateway") + "/v1/chat/completions", json=chat, headers=auth).status_code
                 for _ in range(3)]
        assert codes == [200, 200, 429]
        refused = http.post(s.url("gateway2") + "/v1/chat/completions", json=chat, headers=auth)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 3000  # an hour's wait
        # the operator sees who is at the limit, and who was refused by what
        active = http.get(s.url("gateway2") + "/admin/limits/active?near=1", headers=s.admin).json()
        mine = [b for b in active["buckets"] if b.get("key_id") == key["key_id"]]
        assert [(b["name"], b["used"], b["capacity"]) for b in mine] == [(name, 2, 2)]
        violations = http.get(s.url("gateway") + f"/admin/limits/violations?key_id={key['key_id']}",
                              headers=s.admin).json()
        assert violations["violations"][name] == 2  # the daily counts, shared by both replicas
        assert [(r["key_id"], r["limit"], r["requested"], r["available"]) for r in violations["records"]] == [
            (key["key_id"], name, 1, 0)] * 2
        assert violations["records"][0]["at_us"] >= violations["records"][1]["at_us"]  # newest first
        # reset on one replica: the other admits at once (they share the counters through Redis)
        reset = http.post(s.url("gateway") + "/admin/limits/reset", headers=s.admin,
                          json={"name": name, "key_id": key["key_id"]})
        assert reset.status_code == 200, reset.text
        assert reset.json()["cleared"] == 1 and "every gateway" in reset.json()["scope"]
        again = http.post(s.url("gateway2") + "/v1/chat/completions", json=chat, headers=auth)
        assert again.status_code == 200, again.text
        assert again.headers["x-ratelimit-remaining"] == "1"


def test_a_key_reads_its_own_limits_and_not_anothers(replicas: Swarm) -> None:
    s = replicas
    with httpx.Client(timeout=30) as http:
        chat = _model(s, http)
        mine_name, theirs_name = "mine-" + secrets.token_hex(3), "theirs-" + secrets.token_hex(3)
        mine = _key_with_limit(s, http, mine_name, 10, user="ann")
        theirs = _key_with_limit(s, http, theirs_name, 7, user="bob")
        _wait_known(s, http, mine["key_id"])
        _wait_known(s, http, theirs["key_id"])
        auth = {"authorization": f"Bearer {mine['secret']}"}
        for _ in range(3):
            assert http.post(s.url("gateway") + "/v1/chat/completions", json=chat, headers=auth).status_code == 200
        seen = http.get(s.url("gateway2") + "/v1/limits", headers=auth)
        assert seen.status_code == 200, seen.text
        body = seen.json()
        assert (body["key_id"], body["user"]) == (mine["key_id"], "ann")
        own = next(x for x in body["limits"] if x["name"] == mine_name)
        assert (own["limit"], own["used"], own["remaining"]) == (10, 3, 7)
        assert theirs["key_id"] not in seen.text and theirs_name not in seen.text
        other = http.get(s.url("gateway") + "/v1/limits", headers={"x-api-key": theirs["secret"]}).json()
        assert other["key_id"] == theirs["key_id"] and mine_name not in json.dumps(other)
        assert next(x for x in other["limits"] if x["name"] == theirs_name)["used"] == 0
