"""Structured JSON logs (structlog) carrying the request id across services.

Every line, structlog's and the standard library's (uvicorn's), has the provider keys this process
knows of redacted, echoes included (services/common/redaction.py): every key in its environment
under an allowed name, and every key it has read since."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from services.common import redaction
from services.common.registry.key_env import DEFAULT_ALLOW, KeyEnvRule, ProviderKeys
from services.common.tracing import otel

REQUEST_ID_HEADER = "x-request-id"


def redact_rendered(_: Any, __: str, line: str) -> str:
    """The last processor: the rendered line with every known credential redacted (their
    JSON-escaped forms too, so the line stays what the renderer made of it)."""
    return redaction.known().text(line)


def _redacting_records(make: Any) -> Any:
    """A LogRecord factory that redacts a record's message and traceback when it is made."""
    if getattr(make, "redacting", False):
        return make

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        redactor = redaction.known()
        if not redactor:
            return record
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string: logging reports it when it formats
            return record
        redacted = redactor.text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redactor.text(logging.Formatter().formatException(record.exc_info))
        return record

    factory.redacting = True  # type: ignore[attr-defined]
    return factory


def configure_logging(service: str, level: str = "info", key_env_allow: str = DEFAULT_ALLOW) -> None:
    """`key_env_allow`: the names provider keys may be read from (TOLLWAY_API_KEY_ENV_ALLOW); the
    keys under them in this process's environment are redacted from its logs from the start."""
    ProviderKeys(KeyEnvRule.parse(key_env_allow))  # remembers them
    logging.basicConfig(format="%(message)s", stream=sys.stdout, level=level.upper())
    logging.setLogRecordFactory(_redacting_records(logging.getLogRecordFactory()))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            otel.log_ids,  # the current span's ids when a request did not bind them (tracing on)
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
            redact_rendered,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    # uvicorn's own access log is replaced by ours (one JSON line per request, with its id)
    logging.getLogger("uvicorn.access").disabled = True
    # control-plane clients log every call at INFO; ours are logged where they matter
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
