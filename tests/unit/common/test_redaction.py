"""Credentials redacted from text, bytes and JSON bodies: whole, URL-encoded, JSON-escaped, and any
echo of 8 or more consecutive characters; short values only as whole words; the logs of every
service (structlog's lines and the standard library's)."""

from __future__ import annotations

import io
import json
import logging
from contextlib import redirect_stdout
from urllib.parse import quote

import orjson
import pytest
import structlog

from services.common import redaction
from services.common.logging import configure_logging
from services.common.redaction import MARKER, MIN_ECHO, Redactor

KEY = "sk-proj-Zq7Xw2Lm9Np4Rt6Vb8Hc1Jd3Kf5Gs0Ay"


def test_the_whole_key_anywhere_in_text():
    r = Redactor([KEY])
    assert r.text(f"Incorrect API key provided: Bearer {KEY}.") == f"Incorrect API key provided: Bearer {MARKER}."
    assert r.text(f"{KEY}{KEY} and {KEY}") == f"{MARKER} and {MARKER}"
    assert r.text("nothing to see") == "nothing to see"


@pytest.mark.parametrize("echo", [KEY[:MIN_ECHO], KEY[:12], KEY[:16], KEY[-MIN_ECHO:], KEY[-12:], KEY[5:19],
                                  KEY[1:-1]])
def test_any_run_of_eight_or_more_characters_of_the_key_is_redacted(echo):
    out = Redactor([KEY]).text(f"the key starting {echo}... is not valid")
    assert out == f"the key starting {MARKER}... is not valid"


def test_fewer_than_eight_characters_are_left():
    r = Redactor([KEY])
    assert r.text(f"ending ...{KEY[-4:]} and {KEY[10:17]}") == f"ending ...{KEY[-4:]} and {KEY[10:17]}"


def test_url_encoded_and_json_escaped_forms():
    key = "abc/def+ghi=jkl/mno"
    r = Redactor([key])
    assert r.text(f"url ?key={quote(key, safe='')}&x=1") == f"url ?key={MARKER}&x=1"
    assert r.text("json " + key.replace("/", "\\/")) == f"json {MARKER}"


def test_a_json_body_is_redacted_whatever_the_escaping():
    escaped = "".join(f"\\u{ord(c):04x}" for c in KEY)  # no byte of the key as it is
    raw = b'{"error":{"message":"bad key \\"' + escaped.encode() + b'\\"","type":"auth"}}'
    assert KEY.encode() not in raw
    body = Redactor([KEY]).body(raw)
    assert orjson.loads(body) == {"error": {"message": f'bad key "{MARKER}"', "type": "auth"}}
    plain = b'{"error":{"message":"key ' + KEY.encode() + b'"}}'
    assert Redactor([KEY]).body(plain) == b'{"error":{"message":"key ' + MARKER.encode() + b'"}}'
    assert Redactor([KEY]).body(b"<html>" + KEY[:20].encode() + b"</html>") == b"<html>[redacted]</html>"
    untouched = b'{"a": 1.50}'
    assert Redactor([KEY]).body(untouched) is untouched


def test_short_values_only_as_whole_words():
    r = Redactor(["sk-1"])
    assert r.text("key sk-1 refused; sk-12 and ask-1 stay") == f"key {MARKER} refused; sk-12 and ask-1 stay"
    assert Redactor(["x"]).text("x-ray x") == f"x-ray {MARKER}"


def test_several_keys_and_overlapping_echoes_give_one_marker_each():
    other = "gsk_Q1w2E3r4T5y6U7i8O9p0"
    r = Redactor([KEY, other, None, ""])
    assert r.text(f"{KEY[:10]}{KEY[6:30]} / {other}") == f"{MARKER} / {MARKER}"
    assert r.bytes(f"a {other[:9]} b".encode()) == b"a [redacted] b"
    assert not Redactor([None, ""]) and Redactor([None, ""]).text(KEY) == KEY


def test_every_echo_of_every_form_long_or_short_text_str_or_bytes():
    keys = [KEY, "gsk_Q1w2E3r4T5y6U7i8O9p0", 'ab/c+d=ef/ghijk"l\\m']
    r = Redactor(keys)
    for key in keys:
        for form in (key, quote(key, safe=""), orjson.dumps(key).decode()[1:-1]):
            for start in range(len(form) - MIN_ECHO + 1):
                for length in (MIN_ECHO, MIN_ECHO + 1, MIN_ECHO + 3, len(form) - start):
                    echo = form[start:start + length]
                    if len(echo) < MIN_ECHO:
                        continue
                    for pad in ("", "é" + "x " * 3000):  # the quick test, and past it
                        assert r.text(f"{pad}<{echo}>") == f"{pad}<{MARKER}>", (form, start, length)
                        assert r.bytes(f"{pad}<{echo}>".encode()) == f"{pad}<{MARKER}>".encode()


def test_a_line_without_a_key_comes_back_as_it_was():
    line = ('{"method": "POST", "path": "/v1/chat/completions", "status": 200, "request_id": '
            '"0b8c1f7e2f5a4c1f9d3e6a7b8c9d0e1f", "timestamp": "2026-12-02T01:25:25.123456Z"}')
    assert Redactor([KEY, "gsk_Q1w2E3r4T5y6U7i8O9p0"]).text(line) is line


def test_a_value_is_redacted_everywhere_in_json_data():
    data = {"a": [KEY, {"b": f"x {KEY[:9]}"}], KEY: 1, "n": 2}
    assert Redactor([KEY]).value(data) == {"a": [MARKER, {"b": f"x {MARKER}"}], MARKER: 1, "n": 2}


@pytest.fixture
def restore_logging():
    factory = logging.getLogRecordFactory()
    config = structlog.get_config()
    yield
    logging.setLogRecordFactory(factory)
    structlog.configure(**config)
    structlog.contextvars.clear_contextvars()


def test_logs_of_every_kind_never_show_a_known_key(restore_logging, monkeypatch):
    logged = "sk-logs-" + "Yh5Tg6Rf7Ed8Ws9Qa0"
    read_later = "sk-later-Pl0Ok9Ij8Uh7Yg6Tf"
    monkeypatch.setenv("TOLLWAY_PROVIDER_KEY_LOGTEST", logged)
    out = io.StringIO()
    with redirect_stdout(out):
        configure_logging("test")  # remembers the allowed keys in the environment
        log = structlog.get_logger("t")
        log.info("upstream_failed", error=f"HTTP 401: bad key {logged}", nested={"h": f"Bearer {logged[:12]}"})
        redaction.remember(read_later)
        try:
            raise ValueError(f"boom {read_later}")
        except ValueError:
            log.exception("failed")
        std = logging.getLogger("tollway.test.std")
        std.addHandler(handler := logging.StreamHandler(out))
        try:
            std.warning("stdlib %s", logged)
            try:
                raise RuntimeError(read_later[:10])
            except RuntimeError:
                std.exception("with traceback")
        finally:
            std.removeHandler(handler)
    text = out.getvalue()
    assert logged not in text and logged[:12] not in text and read_later not in text and read_later[:10] not in text
    assert text.count(MARKER) >= 5
    first = json.loads(text.splitlines()[0])
    assert first["error"] == f"HTTP 401: bad key {MARKER}" and first["nested"] == {"h": f"Bearer {MARKER}"}
