"""An upstream request's credentials, wherever it carries them (each format's key header, a
scheme before it, the URL's query), redacted from what comes back; nothing worked out before it
is needed."""

from __future__ import annotations

from services.common.redaction import MARKER
from services.gateway.adapters.base import UpstreamRequest
from services.gateway.forwarding.redaction import RequestRedactor, credentials


def test_every_credential_header_and_query_parameter():
    req = UpstreamRequest("https://g.example/v1beta/models/m:generateContent?alt=sse&key=AIzaQueryKey12345&x=1",
                          {"content-type": "application/json", "Authorization": "Bearer sk-header-key-123",
                           "x-api-key": "ant-key-1234567", "api-key": "azure-key-12345",
                           "x-goog-api-key": "goog-key-123456"}, b"{}")
    assert set(credentials(req, "sk-given-key-0000")) == {"sk-given-key-0000", "sk-header-key-123", "ant-key-1234567",
                                                          "azure-key-12345", "goog-key-123456", "AIzaQueryKey12345"}
    r = RequestRedactor(req, "sk-given-key-0000")
    text = "got sk-header-key-123, AIzaQueryKey12345, goog-key-123456 and sk-given-key-0000 (alt=sse, json)"
    assert r.text(text) == f"got {MARKER}, {MARKER}, {MARKER} and {MARKER} (alt=sse, json)"


def test_nothing_is_worked_out_until_something_is_redacted():
    r = RequestRedactor(UpstreamRequest("http://h/v1/chat/completions", {}, b""), None)
    assert r._redactor is None
    assert r.text("plain") == "plain" and r.body(b"{}") == b"{}"
    assert r._redactor is not None and not r._redactor
