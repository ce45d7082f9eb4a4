"""How hard a request looks, for smart routing: simple, medium or complex.

One point each for: a long prompt past 1,000 estimated tokens (two past 4,000), code, reasoning cues,
a long conversation (more than 6 turns), tools, a long answer asked (max_tokens past 2,000).
0 is simple, 1-2 medium, 3 or more complex. The cues found go into the decision's reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CODE = re.compile(r"```|\bdef \w+\(|\bfunction \w*\(|\bclass \w+[:({]|\bimport \w+|#include|=>|;\s*$",
                  re.MULTILINE)
REASONING = re.compile(r"\b(prove|proof|step by step|derive|reason(ing)? about|analy[sz]e|trade-?offs?|"
                       r"why does|explain why|compare|optimi[sz]e|debug|architect|plan)\b", re.IGNORECASE)
LONG_PROMPT, VERY_LONG_PROMPT = 1000, 4000
MANY_TURNS = 6
LONG_ANSWER = 2000


@dataclass(frozen=True, slots=True)
class Complexity:
    level: str  # simple | medium | complex
    score: int
    cues: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"class": self.level, "score": self.score, "cues": list(self.cues)}

    def describe(self) -> str:
        cues = ", ".join(self.cues) if self.cues else "no cues"
        return f"complexity {self.level} (score {self.score}: {cues})"


def _text(payload: Mapping[str, Any]) -> str:
    parts: list[str] = []
    for msg in payload.get("messages") or []:
        content = msg.get("content") if isinstance(msg, dict) else None
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return "\n".join(parts)


def classify(payload: Mapping[str, Any] | None, input_tokens: int, output_tokens: int) -> Complexity:
    cues: list[str] = []
    score = 0
    if input_tokens > VERY_LONG_PROMPT:
        score += 2
        cues.append(f"long prompt ~{input_tokens} tokens")
    elif input_tokens > LONG_PROMPT:
        score += 1
        cues.append(f"prompt ~{input_tokens} tokens")
    payload = payload or {}
    text = _text(payload)
    if CODE.search(text):
        score += 1
        cues.append("code")
    found = sorted({m.group(0).lower() for m in REASONING.finditer(text)})
    if found:
        score += 1
        cues.append("reasoning: " + ", ".join(found[:3]))
    turns = sum(1 for m in payload.get("messages") or [] if isinstance(m, dict)
                and m.get("role") in ("user", "assistant"))
    if turns > MANY_TURNS:
        score += 1
        cues.append(f"{turns} turns")
    if payload.get("tools"):
        score += 1
        cues.append("tools")
    if output_tokens > LONG_ANSWER:
        score += 1
        cues.append(f"up to {output_tokens} output tokens")
    level = "simple" if score == 0 else "medium" if score <= 2 else "complex"
    return Complexity(level, score, tuple(cues))
