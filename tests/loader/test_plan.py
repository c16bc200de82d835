"""The order alone, without reading data: permutations, seeds, mixing quotas, partitions."""

from __future__ import annotations

import numpy as np
import pytest

from lmio.errors import InvalidArgumentError
from lmio.loader._plan import Partition, Plan, Schedule, SourceOrder

COUNTS = np.array([5, 0, 17, 3, 9, 1, 12, 0, 8])


def order_ids(order: SourceOrder, epoch: int) -> np.ndarray:
    group, index = order.locate(epoch, np.arange(order.total))
    assert (index >= 0).all() and (index < order.counts[group]).all()
    return order.sample_ids(group, index)


@pytest.mark.parametrize("window", [1, 4, 7, 1000])
def test_each_epoch_is_a_permutation_of_every_sample(window: int) -> None:
    order = SourceOrder(COUNTS, seed=3, stream=0, shuffle=True, window=window)
    for epoch in range(3):
        assert sorted(order_ids(order, epoch).tolist()) == list(range(COUNTS.sum()))


def test_same_seed_same_order_other_seed_or_epoch_other_order() -> None:
    def ids(seed: int, epoch: int) -> list[int]:
        order = SourceOrder(COUNTS, seed=seed, stream=0, shuffle=True, window=16)
        return order_ids(order, epoch).tolist()

    assert ids(1, 0) == ids(1, 0)
    assert ids(1, 0) != ids(2, 0)
    assert ids(1, 0) != ids(1, 1)


def test_no_shuffle_is_manifest_order() -> None:
    order = SourceOrder(COUNTS, seed=0, stream=0, shuffle=False, window=4)
    assert order_ids(order, 5).tolist() == list(range(COUNTS.sum()))


def test_window_keeps_samples_near_their_row_group_order() -> None:
    # Positions in one window come from the row groups laid out in that window only.
    order = SourceOrder(COUNTS, seed=0, stream=0, shuffle=True, window=10)
    ids = order_ids(order, 0)
    layout, _ = order._epoch_layout(0)
    layout_ids = np.concatenate(
        [np.arange(order.starts[g], order.starts[g + 1]) for g in layout.tolist()]
    )
    for lo in range(0, len(ids), 10):
        assert sorted(ids[lo : lo + 10]) == sorted(layout_ids[lo : lo + 10])


def test_locate_any_positions_in_any_order() -> None:
    order = SourceOrder(COUNTS, seed=9, stream=0, shuffle=True, window=6)
    everything = order_ids(order, 2)
    positions = np.random.default_rng(0).permutation(order.total)
    group, index = order.locate(2, positions)
    assert (order.sample_ids(group, index) == everything[positions]).all()


@pytest.mark.parametrize(
    "weights",
    [[1.0], [0.5, 0.5], [0.7, 0.2, 0.1], [3, 1], [0.123, 0.877], [1, 1, 1], [2 / 3, 1 / 3]],
)
def test_schedule_is_exact_on_every_prefix(weights: list[float]) -> None:
    schedule = Schedule(weights)
    source, count = schedule.locate(np.arange(5 * schedule.period + 17))
    share = np.asarray(weights) / sum(weights)
    for s in range(len(weights)):
        taken = np.cumsum(source == s)
        ideal = share[s] * np.arange(1, len(source) + 1)
        assert np.abs(taken - ideal).max() <= 1.0
        # The running count per source is its own dense 0, 1, 2, ... sequence.
        assert (count[source == s] == np.arange(int((source == s).sum()))).all()


def test_schedule_reduces_simple_weights_to_a_short_period() -> None:
    assert Schedule([3, 1]).period == 4
    assert Schedule([1.0]).period == 1
    assert Schedule([0.7, 0.2, 0.1]).period == 10
    assert Schedule([1 / 3, 1 / 3, 1 / 3]).period == 3


def test_schedule_rounds_irrational_weights_to_a_fine_grid() -> None:
    schedule = Schedule([2**0.5, 1.0])
    assert schedule.period <= 10_000
    assert abs(schedule.quota[0] / schedule.period - 2**0.5 / (2**0.5 + 1)) <= 1e-4


def test_schedule_refuses_a_weight_too_small_to_be_drawn() -> None:
    with pytest.raises(InvalidArgumentError, match="below 1/10000"):
        Schedule([1.0, 1e-9])


def test_plan_rolls_each_source_over_on_its_own() -> None:
    small = SourceOrder(np.array([3]), seed=0, stream=0, shuffle=True, window=8)
    large = SourceOrder(np.array([50, 50]), seed=0, stream=1, shuffle=True, window=8)
    plan = Plan([small, large], Schedule([1, 1]), samples_per_epoch=20)
    source, group, index = plan.locate(0, np.arange(20))
    small_ids = small.sample_ids(group[source == 0], index[source == 0])
    assert (source == 0).sum() == 10
    # 10 draws of a 3-sample source: three full epochs of it, then one sample of the fourth.
    for lo in range(0, 9, 3):
        assert sorted(small_ids[lo : lo + 3].tolist()) == [0, 1, 2]


@pytest.mark.parametrize("world_size", [1, 2, 3, 4])
@pytest.mark.parametrize("num_workers", [1, 2, 3])
@pytest.mark.parametrize("drop_last", [False, True])
def test_partitions_cover_every_position_once(
    world_size: int, num_workers: int, drop_last: bool
) -> None:
    total, start, batch_size = 103, 11, 4
    seen: list[int] = []
    for rank in range(world_size):
        for worker in range(num_workers):
            part = Partition(rank, world_size, batch_size, drop_last, worker, num_workers)
            for batch in part.worker_batches(start, total):
                seen.extend(part.positions(start, total, batch).tolist())
    step = world_size * batch_size
    expected = start + (total - start) // step * step if drop_last else total
    assert sorted(seen) == list(range(start, expected))


def test_batches_interleave_over_workers_in_rank_order() -> None:
    whole = Partition(1, 2, 3, False)
    split = [Partition(1, 2, 3, False, w, 2) for w in range(2)]
    assert list(split[0].worker_batches(0, 40)) == [0, 2, 4, 6]
    assert list(split[1].worker_batches(0, 40)) == [1, 3, 5]
    assert whole.num_batches(0, 40) == 7


def test_position_after_is_the_same_on_every_rank() -> None:
    parts = [Partition(r, 3, 4, True) for r in range(3)]
    assert {p.position_after(10, 100, 5) for p in parts} == {70}
    assert parts[0].position_after(10, 100, 50) == 100
