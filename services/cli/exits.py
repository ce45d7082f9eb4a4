"""What `tollway`'s exit status means (docs/cli.md lists the same)."""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    OK = 0
    FAILED = 1  # a service answered with an error (bad input 4xx, a refusal, a 5xx)
    USAGE = 2  # the command line itself is wrong (unknown option, missing argument, unreadable file)
    DOWN = 3  # a service did not answer (not running, wrong address, timed out)
    NOT_FOUND = 4  # the thing named does not exist (HTTP 404)
    ACCESS = 5  # the admin key or virtual key is missing or wrong (HTTP 401/403)
    CHECK = 6  # a check found something: `budget check` found a budget at or over the threshold
