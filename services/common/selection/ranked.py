"""A decision's ranking when only its head was worked out: the first few candidates exact, the
rest put in order (by the strategy's full sort) the first time anyone reads past them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import overload

from services.common.selection.candidate import Candidate, Job, score_all
from services.common.selection.view import View

HEAD = 3  # the choice and the two alternatives a decision shows


class Ranked(Sequence[Candidate]):
    __slots__ = ("_head", "_count", "_order", "_all")

    def __init__(self, head: Sequence[Candidate], count: int, order: Callable[[], list[Candidate]]) -> None:
        self._head = tuple(head)
        self._count = count
        self._order = order
        self._all: list[Candidate] | None = None

    def _full(self) -> list[Candidate]:
        if self._all is None:
            self._all = self._order()
        return self._all

    def __len__(self) -> int:
        return self._count

    @property
    def head(self) -> tuple[Candidate, ...]:
        """The part worked out without sorting the rest."""
        return self._head

    @overload
    def __getitem__(self, i: int) -> Candidate: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[Candidate, ...]: ...

    def __getitem__(self, i: int | slice) -> Candidate | tuple[Candidate, ...]:
        head = self._head
        if isinstance(i, slice):
            start, stop, step = i.indices(self._count)
            if step == 1 and stop <= len(head):
                return head[start:stop]
            return tuple(self._full()[i])
        if -self._count <= i < 0:
            i += self._count
        return head[i] if 0 <= i < len(head) else self._full()[i]

    def __iter__(self) -> Iterator[Candidate]:
        yield from self._head
        if self._count > len(self._head):
            yield from self._full()[len(self._head):]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Ranked({list(self._head)!r} + {self._count - len(self._head)} more)"


def ranked(ordered: list[Candidate], view: View, job: Job, order: Callable[[list[Candidate]], list[Candidate]],
           head: int = HEAD) -> Ranked:
    """The first `head` of `ordered` (a superset of them, in the strategy's order) and, when
    asked, `order` over everyone in the view."""
    return Ranked(ordered[:head], len(view), lambda: order(score_all(view.entries(), job)))
