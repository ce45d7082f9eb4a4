"""The snapshot long-poll's rule (services/common/http/longpoll.py): held only for the caller that has
the current version, released by a change, never held past the signal's cap whatever `wait` asks."""

from __future__ import annotations

import asyncio

from services.common.http.longpoll import VersionSignal


async def test_a_huge_wait_is_held_only_up_to_the_cap() -> None:
    signal = VersionSignal(7, max_wait_s=0.05)
    await asyncio.wait_for(signal.answer_when_changed(7, 4.6e307), 5)  # returns: the cap, not the ask
    assert signal.version == 7


async def test_a_change_answers_the_waiter_and_an_old_version_is_answered_at_once() -> None:
    signal = VersionSignal(3, max_wait_s=60)
    waiting = asyncio.create_task(signal.answer_when_changed(3, 60))
    await asyncio.sleep(0)
    assert not waiting.done()
    signal.bump()
    await asyncio.wait_for(waiting, 5)
    await asyncio.wait_for(signal.answer_when_changed(1, 60), 5)  # behind: no hold
    assert signal.version == 4
