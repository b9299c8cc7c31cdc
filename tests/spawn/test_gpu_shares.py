"""The GPU pool's bookkeeping on its own: shared cards, multi-GPU lessons, restart claims."""

from __future__ import annotations

import pytest

from lms_spawner.gpu_pool import GpuPool, NoGpuFree


def test_shared_cards_are_spread_before_they_are_doubled_up():
    pool = GpuPool(["0", "1"], shares_per_device=2)
    assert [pool.allocate(f"s{i}", 1) for i in range(4)] == [["0"], ["1"], ["0"], ["1"]]
    assert pool.free_count() == 0
    with pytest.raises(NoGpuFree, match="1 GPU"):
        pool.allocate("s4", 1)


def test_a_two_gpu_lesson_gets_two_different_cards():
    pool = GpuPool(["0", "1", "2"])
    assert sorted(pool.allocate("big", 2)) == ["0", "1"]
    with pytest.raises(NoGpuFree, match="2 GPU"):
        pool.allocate("big2", 2)
    assert pool.allocate("small", 1) == ["2"]
    assert pool.release("big") == ["0", "1"] and pool.free_devices() == 2


def test_claims_after_a_restart_ignore_unknown_ids():
    pool = GpuPool(["0", "1"])
    pool.claim("running", ["1", "7"])  # 7 left the inventory while the hub was down
    assert pool.holders == {"running": ["1"]}
    assert pool.allocate("next", 1) == ["0"]
