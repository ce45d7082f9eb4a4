"""Whether a cached prompt may answer a new one, decided from what differs between them.

An embedding says "these are about the same thing"; it cannot say `-1` is not `1` or that one
changed word in a long tool schema is a different request. So the two prompts are aligned token
by token (difflib's SequenceMatcher over the canonical tokens of services/gateway/cache/
equivalences.py, which has already written every equivalence it vouches for one way) and a hit is
allowed only when every difference is harmless:

- verbatim segments (quotes, code, JSON; services/gateway/cache/verbatim.py) are identical, in
  the same order;
- no token was changed, added or removed, except a bare `of`/`in`/`for`/`on`/`at`/`about` on
  one side only (`capital of France` / `France's capital`);
- words written together or apart (`time zone` / `timezone`);
- a reordering moves one block of words and keeps every relation intact: the neighbours of each
  `to`, `from`, `than`, `by`, operator ... are the same on both sides (`miles to km` is not
  `km to miles`), and the same words merely permuted are allowed only as a rotation (`In Python,
  how do I X` / `How do I X in Python`), as the two sides of one `and`/`or`/`vs` exchanged
  (`compare X and Y`) or as one prepositional phrase moved (`solve for x: ...` / `solve ... for
  x`), never as another swap (`is a square a rectangle`).

Anything else, however small and wherever it is, refuses: the reason is one of `verbatim`,
`changed`, `order`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cached_property

from services.gateway.cache.equivalences import canonical_tokens, table
from services.gateway.cache.verbatim import split_verbatim


@dataclass
class Prompt:
    """One prompt as the aligner reads it, each part computed once, when first asked for."""

    text: str

    @cached_property
    def _split(self) -> tuple[str, list[str]]:
        return split_verbatim(self.text)

    @property
    def segments(self) -> list[str]:
        return self._split[1]

    @cached_property
    def _tokens(self) -> tuple[list[str], list[str]]:
        return canonical_tokens(self._split[0])

    @property
    def tokens(self) -> list[str]:
        """Canonical tokens: equivalences written one way, filler gone."""
        return self._tokens[0]

    @property
    def plain(self) -> list[str]:
        """The words as written (lower case, articles gone): what a swap is judged on."""
        return self._tokens[1]


def why_not(a: Prompt, b: Prompt) -> str | None:
    """None when b's cached answer may answer a (or the other way round), else why not."""
    if a.segments != b.segments:
        return "verbatim"
    ta, tb = a.tokens, b.tokens
    if ta == tb:
        return None
    deleted: Counter[str] = Counter()
    inserted: Counter[str] = Counter()
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, ta, tb, autojunk=False).get_opcodes():
        if tag != "equal":
            deleted.update(ta[i1:i2])
            inserted.update(tb[j1:j2])
        if tag == "replace" and i2 - i1 != j2 - j1 and _joined(ta[i1:i2]) == _joined(tb[j1:j2]):
            deleted.subtract(ta[i1:i2])  # `time zone` / `timezone`, `e-commerce` / `ecommerce`
            inserted.subtract(tb[j1:j2])
    moved = +deleted & +inserted
    only_a, only_b = +deleted - moved, +inserted - moved
    droppable = table().droppable
    if (only_a and only_b) or any(t not in droppable for t in (only_a + only_b)):
        return "changed"
    if moved and not _harmless_move(a, b, moved):
        return "order"
    return None


def _joined(tokens: list[str]) -> str:
    """The letters of some words run together; `e` left out, which the stemmer drops from some
    word ends (`time zone` -> `tim zon`, `timezone` -> `timezon`)."""
    return "".join(tokens).replace("/", "").replace(".", "").replace("e", "")


def _harmless_move(a: Prompt, b: Prompt, moved: Counter[str]) -> bool:
    if Counter(a.plain) == Counter(b.plain):
        if _is_rotation(a.plain, b.plain) or _swapped_conjuncts(a.plain, b.plain):
            return True
        if not _moved_phrase(a.plain, b.plain):
            return False
    if _runs(a.tokens, moved) > 1 or _runs(b.tokens, moved) > 1:
        return False
    return _relations(a.tokens) == _relations(b.tokens)


def _is_rotation(x: list[str], y: list[str]) -> bool:
    return len(x) == len(y) and any(y == x[k:] + x[:k] for k in range(1, len(x)))


_COORDINATORS = frozenset({"and", "or", "vs", "versus"})


def _swapped_conjuncts(x: list[str], y: list[str], longest: int = 4) -> bool:
    """`compare X and Y` / `compare Y and X`: the same words with the two sides of one `and`,
    `or` or `vs` exchanged (each side at most `longest` words)."""
    for k, tok in enumerate(x):
        if tok not in _COORDINATORS:
            continue
        for left in range(1, min(longest, k) + 1):
            for right in range(1, min(longest, len(x) - k - 1) + 1):
                swapped = x[:k - left] + x[k + 1:k + 1 + right] + [tok] + x[k - left:k] + x[k + 1 + right:]
                if swapped == y:
                    return True
    return False


def _moved_phrase(x: list[str], y: list[str], longest: int = 6) -> bool:
    """`Solve for x: 2x + 3 = 11` / `Solve 2x + 3 = 11 for x`: one block that starts with a
    preposition taken out and put back elsewhere, everything else in its order."""
    droppable = table().droppable
    for start, tok in enumerate(x):
        if tok not in droppable:
            continue
        for end in range(start + 2, min(start + 1 + longest, len(x)) + 1):
            block, rest = x[start:end], x[:start] + x[end:]
            if any(rest[:at] + block + rest[at:] == y for at in range(len(rest) + 1)):
                return True
    return False


def _runs(tokens: list[str], moved: Counter[str]) -> int:
    """How many separate stretches of the moved words there are (an upper bound on the blocks moved)."""
    runs, inside = 0, False
    for t in tokens:
        if t in moved and not inside:
            runs += 1
        inside = t in moved
    return runs


def _relations(tokens: list[str]) -> Counter[tuple[str, str, str]]:
    """Each relation word with its neighbours (droppable prepositions skipped): `(miles, to, km)`."""
    t = table()
    kept = [tok for tok in tokens if tok not in t.droppable]
    out: Counter[tuple[str, str, str]] = Counter()
    for i, tok in enumerate(kept):
        if tok in t.relations:
            out[(kept[i - 1] if i else "", tok, kept[i + 1] if i + 1 < len(kept) else "")] += 1
    return out
