"""What can go wrong talking HTTP/1.1 to a provider, as types the forwarder tells apart."""

from __future__ import annotations


class UpstreamHTTPError(Exception):
    """A provider call failed below HTTP: no connection, a dropped one, or bytes that are not HTTP."""


class ConnectFailed(UpstreamHTTPError):
    """No connection could be made (refused, unknown host, TLS handshake refused)."""


class ConnectTimeout(ConnectFailed, TimeoutError):
    """No connection within the provider's connect timeout."""


class Disconnected(UpstreamHTTPError):
    """The provider closed the connection before its answer was complete."""

    def __init__(self, message: str, *, before_answer: bool = False) -> None:
        super().__init__(message)
        self.before_answer = before_answer  # nothing of the answer arrived: safe to send again


class ReadTimeout(UpstreamHTTPError, TimeoutError):
    """The answer's body went silent past the idle timeout, or ran past the total timeout."""


class ProtocolError(UpstreamHTTPError):
    """The provider sent bytes that are not an HTTP/1.1 answer."""


class BadRequestHead(UpstreamHTTPError, ValueError):
    """The request cannot be written: a header or URL that would break the request line.
    The message names the header, never its value (it may be a key)."""
