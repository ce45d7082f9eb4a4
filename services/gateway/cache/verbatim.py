"""The parts of a prompt that must match character for character: fenced and inline code, quoted
text, bracketed data (JSON objects and arrays, tool arguments and schemas), indented lines, and
the text after a data label at the start of a line (`Text:`, `Input:`, `Email:` ...: what is to be
translated, summarised or extracted from, where `2 hours` is not `120 minutes`).

    free, segments = split_verbatim(text)

`free` is the text with each segment replaced by a placeholder `\\x00N\\x00` (N its index), so
that the aligner sees where each one stood; `segments` are the segments as written (quoted text
without its quote marks: `'hello'` and `"hello"` say the same). Nothing inside a segment is
normalised: case, spacing, indentation and every character count, except that a bracketed
segment which parses as JSON is compared as the data it is (`{"a": 1}` = `{"a":1}`), and a single
word in backticks (`yield`) is read as the word.
"""

from __future__ import annotations

import json
import re

_DATA_LABEL = re.compile(
    r"(?:text|input|document|doc|email|e-mail|message|review|passage|article|sentence|paragraph|transcript|"
    r"ticket|snippet|excerpt|source|original|content|note|notes|comment|feedback|tweet|post|abstract|data|"
    r"record|log|description|string)\s*:[ \t]*(?=\S)",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z_][\w.]*")
_CLOSE = {'"': '"', "“": "”", "`": "`", "'": "'", "‘": "’"}
_BRACKETS = {"{": "}", "[": "]"}


def split_verbatim(text: str) -> tuple[str, list[str]]:
    segments: list[str] = []
    out: list[str] = []
    i, n = 0, len(text)
    line_start = True
    multiline = "\n" in text.strip("\n")
    while i < n:
        c = text[i]
        end, segment = _segment_at(text, i, line_start and multiline)
        if end > i:
            out.append(f" \x00{len(segments)}\x00 ")
            segments.append(segment)
            line_start = text[end - 1] == "\n"
            i = end
            continue
        out.append(c)
        line_start = c == "\n"
        i += 1
    return "".join(out), segments


def _segment_at(text: str, i: int, line_start: bool) -> tuple[int, str]:
    """(end, segment) of a verbatim segment starting at i, or (i, "") when none does."""
    c = text[i]
    if (i == 0 or text[i - 1] == "\n") and (label := _DATA_LABEL.match(text, i)):
        end = text.find("\n\n", label.end())
        end = len(text) if end < 0 else end
        return end, text[label.end():end].strip()
    if line_start and c in " \t":
        end = text.find("\n", i)
        end = len(text) if end < 0 else end + 1
        if text[i:end].strip():
            return end, text[i:end].rstrip("\n")
        return i, ""
    if text.startswith("```", i):
        close = text.find("```", i + 3)
        end = len(text) if close < 0 else close + 3
        return end, text[i:end]
    if c in _BRACKETS:
        end = _matching(text, i)
        return (end, _as_data(text[i:end])) if end > i else (i, "")
    if c == "`" and (close := text.find("`", i + 1)) > i and _WORD.fullmatch(text[i + 1:close]):
        return i, ""  # `yield`: a word in code type, read as the word
    if c in _CLOSE:
        if c in "'‘" and i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_"):
            return i, ""  # an apostrophe: don't, the users' names
        close = _closing_quote(text, i + 1, _CLOSE[c])
        if close > i:
            return close + 1, text[i + 1:close]
    return i, ""


def _as_data(segment: str) -> str:
    """A JSON object or array as canonical JSON (members in their order); anything else as written."""
    try:
        return json.dumps(json.loads(segment), ensure_ascii=False, separators=(",", ":"))
    except ValueError:
        return segment


def _closing_quote(text: str, start: int, mark: str) -> int:
    j = start
    while True:
        j = text.find(mark, j)
        if j < 0:
            return -1
        if mark == "'" and j + 1 < len(text) and (text[j + 1].isalnum() or text[j + 1] == "_"):
            j += 1  # an apostrophe inside the quote: 'don't'
            continue
        return j


def _matching(text: str, i: int) -> int:
    """The index after the bracket that closes the one at i (nesting, and brackets inside JSON
    strings, taken into account), or i when it is never closed."""
    stack: list[str] = []
    in_string = False
    j = i
    while j < len(text):
        c = text[j]
        if in_string:
            if c == "\\":
                j += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in _BRACKETS:
            stack.append(_BRACKETS[c])
        elif c in "}]":
            if not stack or c != stack.pop():
                return i
            if not stack:
                return j + 1
        j += 1
    return i
