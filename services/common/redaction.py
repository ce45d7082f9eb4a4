"""Credentials redacted wherever they could come back: a provider's error body or message, the
errors and receipts built from them, and every log line of every service.

The rule, per credential (a provider key the gateway or the router's probes send):

* the whole value is replaced by `[redacted]` wherever it appears, also URL-encoded or
  JSON-escaped;
* so is any run of `MIN_ECHO` (8) or more consecutive characters of it: a provider that quotes
  the first characters of a key ("sk-proj-abcd1234...") or cuts it in the middle gives away
  nothing that identifies it;
* a value shorter than `MIN_ECHO` is only replaced where it stands as a whole word (not inside a
  longer run of letters, digits, `_` or `-`), so a short test key does not mangle every message.

`remember()` records the credentials a process sends; the log processors (services/common/logging.py)
redact every one it knows from every log line.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any, TypeVar
from urllib.parse import quote

import orjson

MARKER = "[redacted]"
MIN_ECHO = 8  # this many consecutive characters of a credential are redacted wherever they appear
_BLOCK = MIN_ECHO // 2  # any run of MIN_ECHO characters of a credential holds one whole aligned block
_WORD = "A-Za-z0-9_-"

S = TypeVar("S", str, bytes)


def _variants(secret: str) -> set[str]:
    """The forms a credential can come back in: as is, URL-encoded, JSON-escaped."""
    forms = {secret, quote(secret, safe=""), quote(secret, safe="/")}
    escaped = orjson.dumps(secret).decode()[1:-1]
    forms |= {escaped, escaped.replace("/", "\\/")}
    return forms


class _Pattern:
    """One credential form, compiled for one kind of text (str or bytes)."""

    __slots__ = ("secret", "blocks", "whole")

    def __init__(self, secret: S) -> None:
        self.secret = secret
        if len(secret) >= MIN_ECHO:
            self.blocks = [(secret[i:i + _BLOCK], i) for i in range(0, len(secret) - _BLOCK + 1, _BLOCK)]
            self.whole = None
        else:
            self.blocks = []
            word = _WORD if isinstance(secret, str) else _WORD.encode()
            escaped = re.escape(secret)
            fence = (r"(?<![%s])", r"(?![%s])") if isinstance(secret, str) else (rb"(?<![%s])", rb"(?![%s])")
            self.whole = re.compile(fence[0] % word + escaped + fence[1] % word)

    def spans(self, text: S) -> list[tuple[int, int]]:
        if self.whole is not None:
            return [m.span() for m in self.whole.finditer(text)]
        secret = self.secret
        found: list[tuple[int, int]] = []
        for block, offset in self.blocks:
            at = text.find(block)
            while at >= 0:
                # grow the match around the block as far as text and credential agree
                left, k = at, offset
                while left > 0 and k > 0 and text[left - 1] == secret[k - 1]:
                    left, k = left - 1, k - 1
                right, k = at + _BLOCK, offset + _BLOCK
                while right < len(text) and k < len(secret) and text[right] == secret[k]:
                    right, k = right + 1, k + 1
                if right - left >= MIN_ECHO:
                    found.append((left, right))
                at = text.find(block, at + 1)
        return found


class _Compiled:
    """Every credential form, compiled for one kind of text (str or bytes): a quick test whether a
    short text can hold an echo at all (a log line, mostly: it usually cannot), then the patterns
    that find them. The test, on the text's UTF-8 bytes: an echo of MIN_ECHO (8) characters lies in
    a run of bytes the forms use, and holds a piece of 4 bytes, at a multiple of 4 from the run's
    start, that is one of the forms' pieces of 4."""

    QUICK_TEST_BELOW = 4096  # longer texts go straight to the patterns (a few scans at C speed)

    def __init__(self, forms: list[S]) -> None:
        self.patterns = [_Pattern(f) for f in forms]
        encoded = [f.encode() if isinstance(f, str) else f for f in forms]
        long = [f for f in encoded if len(f) >= MIN_ECHO]
        used = {c for f in long for c in f}
        self.pieces = {f[i:i + _BLOCK] for f in long for i in range(len(f) - _BLOCK + 1)}
        self.others_to_space = bytes(c if c in used else 0x20 for c in range(256))
        self.always = any(len(f) < MIN_ECHO for f in forms) or 0x20 in used  # no quick test then

    def may_hold(self, text: S) -> bool:
        if self.always or len(text) >= self.QUICK_TEST_BELOW:
            return True
        raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        pieces = self.pieces
        for run in raw.translate(self.others_to_space).split(b" "):
            if len(run) >= MIN_ECHO:
                for i in range(0, len(run) - _BLOCK + 1, _BLOCK):
                    if run[i:i + _BLOCK] in pieces:
                        return True
        return False

    def replace(self, text: S, marker: S) -> S:
        return _replace(text, self.patterns, marker) if self.may_hold(text) else text


class Redactor:
    """Replaces the given credentials (and echoes of them, see the module's rule) in text. Cheap to
    make: the patterns are only worked out when first used (on an error path, mostly)."""

    __slots__ = ("_given", "_str", "_bytes")

    def __init__(self, secrets: Iterable[str | None]) -> None:
        self._given = tuple(s for s in secrets if s)
        self._str: _Compiled | None = None
        self._bytes: _Compiled | None = None

    def __bool__(self) -> bool:
        return bool(self._given)

    def _forms(self) -> list[str]:
        forms: set[str] = set()
        for secret in self._given:
            forms |= _variants(secret)
        return sorted(forms)

    def text(self, text: str) -> str:
        if not self._given or not text:
            return text
        if self._str is None:
            self._str = _Compiled(self._forms())
        return self._str.replace(text, MARKER)

    def bytes(self, raw: bytes) -> bytes:
        if not self._given or not raw:
            return raw
        if self._bytes is None:
            self._bytes = _Compiled([f.encode() for f in self._forms()])
        return self._bytes.replace(raw, MARKER.encode())

    def body(self, raw: bytes) -> bytes:
        """An upstream body: the bytes as they are, then, if it is JSON, every string in it (which
        catches a credential the provider escaped in a way the bytes do not show)."""
        if not self._given or not raw:
            return raw
        raw = self.bytes(raw)
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return raw
        redacted = self.value(data)
        return raw if redacted == data else orjson.dumps(redacted)

    def value(self, data: Any) -> Any:
        """Every string (keys included) in a JSON-like value."""
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, dict):
            return {self.text(k) if isinstance(k, str) else k: self.value(v) for k, v in data.items()}
        if isinstance(data, list):
            return [self.value(v) for v in data]
        return data


def _replace(text: S, patterns: list[_Pattern], marker: S) -> S:
    spans: list[tuple[int, int]] = []
    for pattern in patterns:
        spans += pattern.spans(text)
    if not spans:
        return text
    spans.sort()
    pieces: list[S] = []
    done = 0
    start, end = spans[0]
    for s, e in spans[1:]:
        if s <= end:  # overlapping or touching: one marker
            end = max(end, e)
            continue
        pieces += [text[done:start], marker]
        done = end
        start, end = s, e
    pieces += [text[done:start], marker, text[end:]]
    return text[:0].join(pieces)


# -- the credentials this process sends, for its logs -------------------------------------------------
_known: set[str] = set()
_lock = threading.Lock()
_current = Redactor(())


def remember(secret: str | None) -> None:
    """Note a credential this process sends (a provider key): its logs never show it."""
    global _current
    if not secret or secret in _known:
        return
    with _lock:
        if secret not in _known:
            _known.add(secret)
            _current = Redactor(_known)


def known() -> Redactor:
    """A redactor for every credential remembered so far."""
    return _current
