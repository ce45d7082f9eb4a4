"""A chat call in format-neutral terms, and the simulated reply planned for it."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from services.simulator import tokens


@dataclass(frozen=True)
class Call:
    """What a format's request parser extracts: enough to plan a reply."""

    model: str
    texts: tuple[str, ...]  # the text of every message, in order
    last_user_text: str
    max_tokens: int | None
    stream: bool = False
    include_usage: bool = False
    tools: tuple[str, ...] = ()  # the names of the tools (functions) the request offers
    after_tool_result: bool = False  # the conversation ends with a tool result


@dataclass(frozen=True)
class Reply:
    model: str
    pieces: tuple[str, ...]  # one per completion token: of the text, or of a tool call's arguments
    prompt_tokens: int  # of the request's messages; the cached prefix's are cache_read and cache_write
    finish_reason: str  # "stop", "length" or "tool_calls"; formats map it to their own words
    tool: str | None = None  # the answer is a call to this tool, `pieces` its JSON arguments
    cache_read: int = 0  # prompt tokens before the messages', read from the prompt cache
    cache_write: int = 0  # prompt tokens after those read, written to it (for 5 minutes)
    cache_write_1h: int = 0  # prompt tokens after those and before the messages', written to it for an hour
    id: str = field(default_factory=lambda: os.urandom(12).hex())
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def input_tokens(self) -> int:
        """Every prompt token: the cached prefix's (read and written) and the messages'."""
        return self.cache_read + self.cache_written + self.prompt_tokens

    @property
    def cache_written(self) -> int:
        """Every prompt token written to the prompt cache, for 5 minutes or an hour."""
        return self.cache_write + self.cache_write_1h

    @property
    def completion_tokens(self) -> int:
        return len(self.pieces)

    @property
    def text(self) -> str:
        """The answer's text; empty for a tool call."""
        return "" if self.tool else "".join(self.pieces)

    @property
    def arguments(self) -> str:
        """A tool call's JSON arguments."""
        return "".join(self.pieces)


def plan(call: Call, reply_length: int, tool: str | None = None, *, cache_read: int = 0,
         cache_write: int = 0, cache_write_1h: int = 0) -> Reply:
    """The deterministic reply to `call` (see services.simulator.tokens for the rules): a call to
    `tool` when the request offers it and does not end with a tool result, else text; its prompt
    starts with `cache_read` tokens read from the prompt cache, `cache_write` written to it for 5
    minutes and `cache_write_1h` for an hour."""
    if tool is not None and tool in call.tools and not call.after_tool_result:
        pieces, finish = tokens.tool_call_pieces(call.last_user_text), "tool_calls"
    else:
        tool = None
        pieces = tokens.reply_pieces(call.last_user_text, tokens.completion_tokens(call.max_tokens, reply_length))
        finish = tokens.finish_reason(call.max_tokens, reply_length)
    return Reply(model=call.model, pieces=tuple(pieces), prompt_tokens=tokens.prompt_tokens(call.texts),
                 finish_reason=finish, tool=tool, cache_read=cache_read, cache_write=cache_write,
                 cache_write_1h=cache_write_1h)
