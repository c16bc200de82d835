"""Resuming: the batches after a restored state are the ones an uninterrupted run gets."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lmio.errors import FormatError, InvalidArgumentError
from lmio.loader import TokenLoader

from .conftest import MakeDataset

SEQ_LEN = 8


def make(root: object, **options: object) -> TokenLoader:
    settings: dict[str, object] = {
        "batch_size": 3,
        "seq_len": SEQ_LEN,
        "seed": 11,
        "sample_ids": True,
        "num_threads": 2,
        "shuffle_window": 16,
    }
    settings.update(options)
    return TokenLoader(root, **settings)


def run(loader: TokenLoader, epochs: int) -> list[list[int]]:
    return [b["sample_id"].tolist() for _ in range(epochs) for b in loader]


@pytest.mark.parametrize(("rank", "world_size", "num_workers"), [(0, 1, 0), (1, 2, 0), (0, 1, 2)])
def test_resume_at_random_points_equals_the_uninterrupted_run(
    make_dataset: MakeDataset, rank: int, world_size: int, num_workers: int
) -> None:
    root = make_dataset()
    options = {"rank": rank, "world_size": world_size, "num_workers": num_workers}
    expected = run(make(root, **options), epochs=3)
    rng = np.random.default_rng(0)
    stops = sorted(rng.choice(len(expected), size=4, replace=False).tolist())
    got: list[list[int]] = []
    state = None
    for stop in [*stops, len(expected)]:
        loader = make(root, **options)
        if state is not None:
            # The state travels as JSON, as it would in a checkpoint.
            loader.load_state_dict(json.loads(json.dumps(state)))
        while len(got) < stop:
            iterator = iter(loader)
            for batch in iterator:
                got.append(batch["sample_id"].tolist())
                if len(got) == stop:
                    break
        state = loader.state_dict()
    assert got == expected


def test_break_then_iter_continues_the_same_epoch(make_dataset: MakeDataset) -> None:
    root = make_dataset()
    expected = run(make(root), epochs=2)
    loader = make(root)
    got = []
    for batch in loader:
        got.append(batch["sample_id"].tolist())
        if len(got) == 5:
            break
    got.extend(run(loader, epochs=2))
    assert got == expected


def test_state_is_small_and_json(make_dataset: MakeDataset) -> None:
    loader = make(make_dataset())
    iterator = iter(loader)
    next(iterator)
    next(iterator)
    state = loader.state_dict()
    assert state["epoch"] == 0 and state["position"] == 6
    assert len(json.dumps(state)) < 1_000


def test_state_at_the_end_of_an_epoch_starts_the_next(make_dataset: MakeDataset) -> None:
    root = make_dataset()
    expected = run(make(root, drop_last=False), epochs=2)
    loader = make(root, drop_last=False)
    first = [b["sample_id"].tolist() for b in loader]
    resumed = make(root, drop_last=False)
    resumed.load_state_dict(loader.state_dict())
    assert resumed.epoch == 1
    assert first + run(resumed, epochs=1) == expected


@pytest.mark.parametrize("drop_last", [False, True])
def test_elastic_resume_from_2_to_3_ranks_loses_and_repeats_nothing(
    make_dataset: MakeDataset, drop_last: bool
) -> None:
    root = make_dataset()
    old = [make(root, rank=r, world_size=2, drop_last=drop_last) for r in range(2)]
    seen: list[int] = []
    for loader in old:
        iterator = iter(loader)
        for _ in range(7):
            seen.extend(next(iterator)["sample_id"].tolist())
        iterator.close()
    state = old[0].state_dict()
    assert state == old[1].state_dict()
    for r in range(3):
        loader = make(root, rank=r, world_size=3, drop_last=drop_last)
        loader.load_state_dict(state)
        seen.extend(i for b in loader for i in b["sample_id"].tolist())
    total = old[0].samples_per_epoch
    assert len(seen) == len(set(seen))
    if drop_last:
        assert total - len(seen) < 3 * 3  # only the last partial global batch is left out
    else:
        assert sorted(seen) == list(range(total))


def test_resume_reads_no_row_group_before_the_resume_point(make_dataset: MakeDataset) -> None:
    root = make_dataset(docs_per_group=2)
    done = make(root, shuffle=False, drop_last=False)
    list(done)
    loader = make(root, shuffle=False, drop_last=False)
    state = done.state_dict()
    state["epoch"], state["position"] = 0, done.samples_per_epoch - 3
    loader.load_state_dict(state)
    assert len(list(loader)) == 1
    # The last 3 windows sit in the last row group or two: nothing before them is read.
    assert loader.metrics().row_groups_read <= 2


def test_a_state_from_other_settings_is_refused(make_dataset: MakeDataset) -> None:
    root = make_dataset()
    state = make(root).state_dict()
    with pytest.raises(InvalidArgumentError, match=r"seq_len = 8.*seq_len = 16"):
        make(root, seq_len=16).load_state_dict(state)
    with pytest.raises(InvalidArgumentError, match="seed"):
        make(root, seed=12).load_state_dict(state)
    other = make_dataset([30] * 40)
    with pytest.raises(InvalidArgumentError, match=r"samples_per_epoch|sources"):
        make(other).load_state_dict(state)
    # batch_size and world_size may change.
    make(root, batch_size=5, world_size=2, rank=1).load_state_dict(state)


def test_a_damaged_state_is_refused(make_dataset: MakeDataset) -> None:
    loader = make(make_dataset())
    state = loader.state_dict()
    with pytest.raises(FormatError, match="not a TokenLoader state"):
        loader.load_state_dict({"epoch": 1})
    with pytest.raises(FormatError, match="version 99"):
        loader.load_state_dict({**state, "version": 99})
    with pytest.raises(FormatError, match="damaged"):
        loader.load_state_dict({**state, "position": -1})
    with pytest.raises(FormatError, match="past the end"):
        loader.load_state_dict({**state, "position": loader.samples_per_epoch + 1})
