"""What a rate limit is: its dimension, algorithm, size and unit, checked once when it is made.

A spec is a frozen dataclass (validated by pydantic wherever it comes in through an API: pass it
to `pydantic.TypeAdapter(LimitSpec)`); its derived integers are what the algorithms compute with.
All arithmetic is on integers (time in microseconds) so that the in-process backend and the Redis
scripts (Lua numbers are doubles, exact below 2**53) reach the very same decisions. The size
bounds below keep every intermediate product under 2**53.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from math import gcd
from typing import Literal

from services.gateway.limits.timebase import US, to_us

Dimension = Literal["key", "user", "team", "org", "ip", "provider", "global"]
Algorithm = Literal["token_bucket", "sliding_log", "sliding_window", "fixed_window"]
Unit = Literal["requests", "tokens"]

DIMENSIONS: tuple[Dimension, ...] = ("key", "user", "team", "org", "ip", "provider", "global")
MINUTE, HOUR, DAY = 60, 3600, 86400
_NAME = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_EXACT = 2**53
# counters of the weighted window may be corrected past the limit up to this many limits
OVERSHOOT = 8


@dataclass(frozen=True, slots=True)
class LimitSpec:
    """One limit. `limit` is how much `unit` a `window_s` admits; for a token bucket it is the
    refill rate (limit per window, refilled continuously) and `burst` the bucket's size (default:
    `limit`). Fixed windows are aligned to UTC (a window must divide a day: minute, hour, day).
    `match` makes it a custom quota for one value of its dimension (one key, one user), replacing
    the general limit of the same name for that value; `expires_at` ends it."""

    name: str
    dimension: Dimension
    algorithm: Algorithm
    limit: int
    window_s: int = MINUTE
    unit: Unit = "requests"
    burst: int | None = None
    match: str | None = None
    expires_at: datetime | None = None

    # derived, for the algorithms
    capacity: int = field(init=False, repr=False, compare=False)  # most a window or bucket holds
    window_us: int = field(init=False, repr=False, compare=False)
    window_ms: int = field(init=False, repr=False, compare=False)
    token_units: int = field(init=False, repr=False, compare=False)  # bucket: units per token
    capacity_units: int = field(init=False, repr=False, compare=False)  # bucket: size in units
    refill_units: int = field(init=False, repr=False, compare=False)  # bucket: units per µs
    expires_us: int | None = field(init=False, repr=False, compare=False)
    fingerprint: str = field(init=False, repr=False, compare=False)  # storage key stem

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"limit name {self.name!r} must match [A-Za-z0-9._:-]{{1,64}}")
        if self.dimension not in DIMENSIONS:
            raise ValueError(f"unknown dimension {self.dimension!r}")
        if self.limit < 1 or self.window_s < 1:
            raise ValueError(f"limit {self.name}: limit and window_s must be positive")
        if self.burst is not None and (self.algorithm != "token_bucket" or self.burst < 1):
            raise ValueError(f"limit {self.name}: burst is a positive size, for token buckets only")
        if self.match is not None and self.dimension == "global":
            raise ValueError(f"limit {self.name}: a global limit cannot match one value")
        setf = object.__setattr__
        setf(self, "capacity", self.burst or self.limit)
        setf(self, "window_us", self.window_s * US)
        setf(self, "window_ms", self.window_s * 1000)
        # token bucket: `limit` tokens per window_us, in the smallest integer units that refill
        # a whole number of units each microsecond
        g = gcd(self.limit, self.window_us)
        setf(self, "token_units", self.window_us // g)
        setf(self, "refill_units", self.limit // g)
        setf(self, "capacity_units", self.capacity * self.token_units)
        setf(self, "expires_us", None if self.expires_at is None else to_us(self.expires_at))
        setf(self, "fingerprint", f"{self.name}:{self.algorithm}:{self.unit}:{self.limit}"
                                  f"/{self.window_s}s:{self.capacity}")
        self._check_bounds()

    def _check_bounds(self) -> None:
        if self.algorithm == "token_bucket" and 2 * self.capacity_units >= _EXACT:
            raise ValueError(f"limit {self.name}: bucket of {self.capacity} refilling {self.limit} per "
                             f"{self.window_s}s is too fine-grained to count exactly; round the rate")
        if self.algorithm == "sliding_window" and OVERSHOOT * self.limit * self.window_ms >= _EXACT:
            raise ValueError(f"limit {self.name}: limit x window too large for a weighted window; "
                             "use a fixed window or a token bucket")
        if self.algorithm == "fixed_window" and DAY % self.window_s:
            raise ValueError(f"limit {self.name}: a fixed window must divide a day (60, 3600, 86400 s)")

    def active(self, now_us: int) -> bool:
        return self.expires_us is None or now_us < self.expires_us
