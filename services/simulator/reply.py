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


@dataclass(frozen=True)
class Reply:
    model: str
    pieces: tuple[str, ...]  # one per completion token
    prompt_tokens: int
    finish_reason: str  # "stop" or "length"; formats map it to their own words
    id: str = field(default_factory=lambda: os.urandom(12).hex())
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def completion_tokens(self) -> int:
        return len(self.pieces)

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def plan(call: Call, reply_length: int) -> Reply:
    """The deterministic reply to `call` (see services.simulator.tokens for the rules)."""
    count = tokens.completion_tokens(call.max_tokens, reply_length)
    return Reply(model=call.model, pieces=tuple(tokens.reply_pieces(call.last_user_text, count)),
                 prompt_tokens=tokens.prompt_tokens(call.texts),
                 finish_reason=tokens.finish_reason(call.max_tokens, reply_length))
