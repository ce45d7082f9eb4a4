"""The four algorithms behind one interface, by the name a spec uses. Each is a module of plain
functions over an explicit state and an explicit `now` (µs):

- `refresh(state | None, spec, now)`: the state brought up to `now` (what has left the window is
  dropped, the bucket refilled); semantically a no-op, so it is safe before a refusal;
- `decide(state, spec, cost, now)`: the `Decision`, changing nothing;
- `charge(state, spec, cost, now)`: take `cost`;
- `correct(state, spec, delta, at_us, now)`: after the call, charge (or give back) the difference
  between the real usage and the estimate charged at `at_us`.

Every state has `idle_at` (µs): from then on it is as good as no state, so it may be dropped.
"""

from __future__ import annotations

from typing import Any, Protocol

from services.gateway.limits import fixed_window, sliding_log, sliding_window, token_bucket
from services.gateway.limits.decision import Decision
from services.gateway.limits.spec import LimitSpec


class AlgorithmModule(Protocol):
    def refresh(self, state: Any, spec: LimitSpec, now: int) -> Any: ...

    def decide(self, state: Any, spec: LimitSpec, cost: int, now: int) -> Decision: ...

    def charge(self, state: Any, spec: LimitSpec, cost: int, now: int) -> None: ...

    def correct(self, state: Any, spec: LimitSpec, delta: int, at_us: int, now: int) -> None: ...


ALGORITHMS: dict[str, AlgorithmModule] = {
    "token_bucket": token_bucket,
    "sliding_log": sliding_log,
    "sliding_window": sliding_window,
    "fixed_window": fixed_window,
}
