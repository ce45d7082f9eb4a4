"""What can go wrong talking HTTP/1.1 to a provider, as types the forwarder tells apart."""

from __future__ import annotations


class UpstreamHTTPError(Exception):
    """A provider call failed below HTTP: no connection, a dropped one, or bytes that are not HTTP."""


class ConnectFailed(UpstreamHTTPError):
    """No connection could be made (refused, unknown host, TLS handshake refused)."""


class ConnectTimeout(ConnectFailed, TimeoutError):
    """No connection within the provider's connect timeout."""


class Disconnected(UpstreamHTTPError):
    """The connection closed before the answer was complete. `before_answer`: no byte of the answer
    came (the provider may still have received the request, and billed it). `unsent`: the request
    itself was not fully written, so the provider cannot have acted on it: the one case the pool
    sends it again on its own."""

    def __init__(self, message: str, *, before_answer: bool = False, unsent: bool = False) -> None:
        super().__init__(message)
        self.before_answer = before_answer or unsent
        self.unsent = unsent


class ReadTimeout(UpstreamHTTPError, TimeoutError):
    """The answer's body went silent past the idle timeout, or ran past the total timeout."""


class ProtocolError(UpstreamHTTPError):
    """The provider sent bytes that are not an HTTP/1.1 answer, or a compressed body that does not
    decompress."""


class BadRequestHead(UpstreamHTTPError, ValueError):
    """The request cannot be written: a header or URL that would break the request line.
    The message names the header, never its value (it may be a key)."""
