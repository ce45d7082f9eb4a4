"""Deterministic token arithmetic, so tests can predict every count.

- prompt tokens = sum over messages of (4 + the number of whitespace-separated words of the
  message's text); a message's text is its string content, or the `text` of its text parts.
- completion tokens = min(max_tokens if given, the configured reply length); finish_reason is
  "length" when max_tokens cut the reply short, else "stop".
- the reply is one word per token, drawn from a fixed vocabulary by a generator seeded with the
  last user message, so the same request always gets the same reply (a shorter max_tokens gives a
  prefix of it).
- a tool call (spec `tool=NAME`) has the arguments `{"query":"<last user message>"}` (compact
  JSON) and one token per space-separated piece of them; max_tokens does not cut it; its
  finish_reason is "tool_calls".
- prompt-cache tokens (spec `cache_read=N`, `cache_write=M`, `cache_write_1h=H`) come on top of
  the messages' tokens: the prompt is taken to start with N tokens read from the cache, then M
  written to it for 5 minutes and H for an hour, so it has N + M + H + (the messages' tokens) in
  all. Anthropic reports `input_tokens` = the messages' tokens, `cache_read_input_tokens` = N,
  `cache_creation_input_tokens` = M + H and `cache_creation` = {`ephemeral_5m_input_tokens`: M,
  `ephemeral_1h_input_tokens`: H}. OpenAI counts every prompt token in `prompt_tokens`, N of them
  as `prompt_tokens_details.cached_tokens` and M + H as `cache_write_tokens`. Gemini counts every
  prompt token in `promptTokenCount`, N of them as `cachedContentTokenCount`; it reports no
  writes, so the M + H written are plain prompt tokens there, as on a real first call with that
  prefix.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence

import orjson

PER_MESSAGE = 4

VOCAB = (
    "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "while", "a", "gateway", "meters",
    "every", "token", "to", "the", "microdollar", "and", "routes", "each", "call", "to", "the", "cheapest",
    "provider", "that", "meets", "its", "latency", "budget", "so", "nobody", "gets", "a", "surprise", "bill",
    "at", "the", "end", "of", "month", "simulated", "reply", "text", "flows", "steadily", "one", "word",
    "per", "token",
)


def prompt_tokens(texts: Sequence[str]) -> int:
    """Tokens of a prompt given the text of each message."""
    return sum(PER_MESSAGE + len(text.split()) for text in texts)


def completion_tokens(max_tokens: int | None, reply_length: int) -> int:
    return reply_length if max_tokens is None else min(max_tokens, reply_length)


def finish_reason(max_tokens: int | None, reply_length: int) -> str:
    return "length" if max_tokens is not None and max_tokens < reply_length else "stop"


def reply_pieces(seed_text: str, count: int) -> list[str]:
    """`count` text pieces, one per token: the first a bare word, the others with a leading space."""
    seed = int.from_bytes(hashlib.blake2b(seed_text.encode(), digest_size=8).digest(), "big")
    rng = random.Random(seed)
    words = [VOCAB[rng.randrange(len(VOCAB))] for _ in range(count)]
    return [word if i == 0 else " " + word for i, word in enumerate(words)]


def tool_arguments(last_user_text: str) -> str:
    """The JSON arguments of a simulated tool call."""
    return orjson.dumps({"query": last_user_text}).decode()


def tool_call_pieces(last_user_text: str) -> list[str]:
    """The arguments in pieces, one per token: split at spaces, each space kept with the piece after it."""
    words = tool_arguments(last_user_text).split(" ")
    return [word if i == 0 else " " + word for i, word in enumerate(words)]
