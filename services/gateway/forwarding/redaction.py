"""The credentials one upstream request carries, for redacting what comes back from it.

Where upstream text enters the gateway (forwarding/fallback.py: an error body, the provider's
error message, a connection error) it goes through the request's `Redactor`, so the client's
error, the receipt's `error` and `attempts`, and the log lines built from it never hold the key
(services/common/redaction.py has the rule, partial echoes included).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from services.common.redaction import Redactor
from services.gateway.adapters.base import UpstreamRequest

CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key", "x-goog-api-key"})
CREDENTIAL_PARAMS = frozenset({"key", "api_key", "api-key", "apikey", "access_token", "token", "sig"})
SCHEMES = ("bearer ", "basic ", "token ")


def _credential(value: str) -> str:
    lowered = value.lower()
    for scheme in SCHEMES:
        if lowered.startswith(scheme):
            return value[len(scheme):].strip()
    return value


def credentials(req: UpstreamRequest, key: str | None) -> list[str | None]:
    """The key and every credential the request sends, in a header or the URL's query."""
    secrets = [key]
    secrets += [_credential(v) for k, v in req.headers.items() if k.lower() in CREDENTIAL_HEADERS]
    query = urlsplit(req.url).query
    if query:
        secrets += [v for k, v in parse_qsl(query) if k.lower() in CREDENTIAL_PARAMS]
    return secrets


class RequestRedactor:
    """The redactor of one upstream request, worked out only when something is to be redacted
    (an error), so a request that succeeds pays nothing for it."""

    __slots__ = ("req", "key", "_redactor")

    def __init__(self, req: UpstreamRequest, key: str | None) -> None:
        self.req = req
        self.key = key
        self._redactor: Redactor | None = None

    @property
    def redactor(self) -> Redactor:
        if self._redactor is None:
            self._redactor = Redactor(credentials(self.req, self.key))
        return self._redactor

    def text(self, text: str) -> str:
        return self.redactor.text(text)

    def body(self, raw: bytes) -> bytes:
        return self.redactor.body(raw)
