"""`tollway serve` settles a started service's heap: what it loaded is frozen out of the
collector's sight and the young generation's threshold is the setting's."""

from __future__ import annotations

import gc

import pytest
from pydantic import ValidationError

from services.cli.serve import settle_heap
from services.common.settings import Settings


def test_settle_heap_freezes_and_sets_the_young_threshold():
    before = gc.get_threshold()
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        settle_heap(12_345)
        assert gc.get_threshold() == (12_345, before[1], before[2])
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_the_threshold_is_a_setting(monkeypatch):
    assert Settings().gc_gen0_threshold == 20_000
    monkeypatch.setenv("TOLLWAY_GC_GEN0_THRESHOLD", "5000")
    assert Settings().gc_gen0_threshold == 5_000
    monkeypatch.setenv("TOLLWAY_GC_GEN0_THRESHOLD", "10")
    with pytest.raises(ValidationError, match="gc_gen0_threshold"):
        Settings()
