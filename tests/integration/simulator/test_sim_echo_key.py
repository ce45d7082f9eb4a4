"""`echo_key=STATUS`: every call is refused with STATUS, quoting whole and in part the credentials
it carried, in each format (for testing the gateway's redaction)."""

import pytest

from services.simulator.spec import Spec, SpecError, parse_spec

KEY = "sk-echo-0123456789abcdefghij"


def test_the_spec_takes_an_error_status_or_zero():
    assert parse_spec("echo_key=400") == Spec(echo_key=400)
    assert parse_spec("echo_key=0") == Spec()
    for bad in ("echo_key=200", "echo_key=1", "echo_key=x"):
        with pytest.raises(SpecError) as info:
            parse_spec(bad)
        assert info.value.field == "echo_key"


@pytest.mark.parametrize("path, headers", [
    ("/sim/echo_key=400/v1/chat/completions", {"authorization": f"Bearer {KEY}"}),
    ("/sim/echo_key=401/v1/messages", {"x-api-key": KEY}),
    ("/sim/echo_key=400/v1beta/models/m:generateContent", {"x-goog-api-key": KEY}),
    (f"/sim/echo_key=403/v1beta/models/m:generateContent?key={KEY}", {}),
    ("/sim/echo_key=400/openai/deployments/d/chat/completions?api-version=2024-10-21", {"api-key": KEY}),
])
async def test_the_credentials_come_back_in_the_error(client, path, headers):
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5,
            "contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    resp = await client.post(path, json=body, headers=headers)
    assert resp.status_code == int(path.split("=")[1][:3])
    message = resp.json()["error"]["message"]
    assert message.count(KEY) == 1 and f"starting {KEY[:16]} and ending {KEY[-12:]}" in message


async def test_without_credentials_it_says_so(client):
    resp = await client.post("/sim/echo_key=400/v1/chat/completions",
                             json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert resp.status_code == 400 and resp.json()["error"]["message"] == "no credentials were sent"
