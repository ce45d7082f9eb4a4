"""The command line's one HTTP client: where each service is, which key goes where, and the two
failures every command reports the same way (a service that does not answer, an error answer).

URLs come from the flags, else `TOLLWAY_{ROUTER,GATEWAY,LEDGER}_URL`, else 127.0.0.1 on the
service's `TOLLWAY_*_PORT` (as scripts/start_services.sh does); of a comma-separated list of
replicas, the first. The admin key (`--admin-key`,
`TOLLWAY_ADMIN_KEY`) goes to management endpoints as `X-Admin-Key`; a virtual key (`--key`,
`TOLLWAY_VIRTUAL_KEY`) goes as `Authorization: Bearer` to the client API and, when given, to reads
(so a tenant sees its own data only). Money is parsed as Decimal (services/common/jsonio)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from services.cli.exits import Exit
from services.common import jsonio
from services.common.settings import Settings

SERVICES = ("router", "gateway", "ledger", "simulator")


class CliError(Exception):
    """A failure the command line reports in one sentence, with an exit code (docs/cli.md)."""

    exit_code: int = Exit.FAILED

    def __init__(self, message: str, *, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.body = body


class ServiceDown(CliError):
    exit_code = Exit.DOWN


class UsageError(CliError):
    """The command line asks for something impossible (a file that does not parse, a bad duration)."""

    exit_code = Exit.USAGE


class Missing(CliError):
    """Nothing by that name, found without a 404 (a search through a run or files)."""

    exit_code = Exit.NOT_FOUND


class ApiError(CliError):
    """The service answered with an error status: its JSON error body is kept."""

    def __init__(self, message: str, status: int, body: Any = None) -> None:
        super().__init__(message, body=body)
        self.status = status
        self.exit_code = {404: Exit.NOT_FOUND, 401: Exit.ACCESS, 403: Exit.ACCESS}.get(status, Exit.FAILED)


@dataclass(frozen=True)
class Endpoints:
    urls: dict[str, str]
    admin_key: str = ""
    virtual_key: str = ""
    timeout_s: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings, **flags: str | None) -> Endpoints:
        """`flags`: router_url, gateway_url, ledger_url, admin_key, virtual_key (None: not given)."""
        urls = {}
        for service in SERVICES:
            flag = flags.get(f"{service}_url")
            explicit = getattr(settings, f"{service}_url", "") if f"{service}_url" in settings.model_fields_set else ""
            port = getattr(settings, f"{service}_port")
            first = (flag or explicit or f"http://127.0.0.1:{port}").split(",")[0]  # replicas: the first
            urls[service] = first.strip().rstrip("/")
        return cls(urls=urls,
                   admin_key=flags.get("admin_key") or settings.admin_key.get_secret_value(),
                   virtual_key=flags.get("virtual_key") or settings.virtual_key.get_secret_value())


def _error_message(body: Any, status: int) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        return f"{err.get('type', 'error')}: {err.get('message', '')}".strip()
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return f"HTTP {status}"


class Api:
    """Calls to the services; every method returns the parsed JSON (money as Decimal)."""

    def __init__(self, endpoints: Endpoints) -> None:
        self.endpoints = endpoints
        self._client = httpx.Client(timeout=endpoints.timeout_s)

    def close(self) -> None:
        self._client.close()

    def url(self, service: str) -> str:
        return self.endpoints.urls[service]

    def headers(self, access: str) -> dict[str, str]:
        """access: "admin" (management), "read" (the virtual key if given, else the admin key),
        "client" (the virtual key only: what an application sends to the gateway)."""
        ep = self.endpoints
        if access == "admin" and ep.admin_key:
            return {"x-admin-key": ep.admin_key}
        if access in ("read", "client") and ep.virtual_key:
            return {"authorization": f"Bearer {ep.virtual_key}"}
        if access == "read" and ep.admin_key:
            return {"x-admin-key": ep.admin_key}
        return {}

    def down(self, service: str, exc: Exception) -> ServiceDown:
        url = self.url(service)
        why = "timed out" if isinstance(exc, httpx.TimeoutException) else "connection refused" if isinstance(
            exc, httpx.ConnectError) else type(exc).__name__
        return ServiceDown(f"the {service} does not answer at {url} ({why}). Start the swarm with `tollway up`"
                           f" (or scripts/start_services.sh), or point at it with --{service}-url /"
                           f" TOLLWAY_{service.upper()}_URL.")

    def request(self, method: str, service: str, path: str, *, access: str = "read",
                json_body: Any = None, params: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None, missing_ok: bool = False) -> Any:
        """The JSON answer; `missing_ok`: None on a 404 or 405 (an endpoint this service lacks)."""
        content = jsonio.dumps(json_body) if json_body is not None else None
        sent = {**self.headers(access), **(headers or {})}
        if content is not None:
            sent["content-type"] = "application/json"
        try:
            response = self._client.request(method, self.url(service) + path, content=content,
                                            params={k: v for k, v in (params or {}).items() if v is not None},
                                            headers=sent)
        except httpx.TransportError as exc:
            raise self.down(service, exc) from None
        if missing_ok and response.status_code in (404, 405) and not _is_tollway_error(response):
            return None
        return self._parse(service, method, path, response)

    def _parse(self, service: str, method: str, path: str, response: httpx.Response) -> Any:
        try:
            body = jsonio.loads_exact(response.content) if response.content else None
        except Exception:  # noqa: BLE001 - not JSON: report the status and the text
            body = response.text[:500]
        if response.status_code >= 400:
            raise ApiError(f"the {service} refused {method} {path}: {_error_message(body, response.status_code)}"
                           f" (HTTP {response.status_code})", response.status_code, body)
        return body

    def get(self, service: str, path: str, **kw: Any) -> Any:
        return self.request("GET", service, path, **kw)

    def post(self, service: str, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("POST", service, path, json_body=body, **kw)

    def delete(self, service: str, path: str, **kw: Any) -> Any:
        return self.request("DELETE", service, path, **kw)

    @contextmanager
    def stream(self, method: str, service: str, path: str, *, access: str = "read", json_body: Any = None,
               params: dict[str, Any] | None = None, headers: dict[str, str] | None = None
               ) -> Iterator[httpx.Response]:
        """A streamed answer (SSE), open once its headers are in; an error status raises ApiError."""
        sent = {**self.headers(access), **(headers or {})}
        content = None
        if json_body is not None:
            content = jsonio.dumps(json_body)
            sent["content-type"] = "application/json"
        try:
            with self._client.stream(method, self.url(service) + path, content=content, params=params,
                                     headers=sent, timeout=httpx.Timeout(self.endpoints.timeout_s, read=None)
                                     ) as response:
                if response.status_code >= 400:
                    response.read()
                    self._parse(service, method, path, response)
                yield response
        except httpx.TransportError as exc:
            raise self.down(service, exc) from None


def _is_tollway_error(response: httpx.Response) -> bool:
    """A 404 with a message is an answer (no such thing); the framework's bare "Not Found" (or "Method
    Not Allowed") is a route this service does not have (an older version)."""
    try:
        body = response.json()
    except ValueError:
        return False
    err = body.get("error") if isinstance(body, dict) else None
    return isinstance(err, dict) and err.get("message") not in ("Not Found", "Method Not Allowed")
