"""No thread or process is left behind, however the iteration ends."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable

import psutil
import pytest

from lmio.loader import TokenLoader

from .conftest import MakeDataset


def loader_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("lmio-loader")]


def children() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if p.is_running()]


@pytest.fixture
def clean() -> Callable[[], None]:
    gc.collect()
    threads_before, children_before = len(loader_threads()), len(children())

    def check() -> None:
        gc.collect()
        assert len(loader_threads()) == threads_before
        psutil.wait_procs(children(), timeout=5)
        assert len(children()) == children_before

    return check


@pytest.mark.parametrize("num_workers", [0, 2])
def test_early_break(
    make_dataset: MakeDataset, clean: Callable[[], None], num_workers: int
) -> None:
    loader = TokenLoader(make_dataset(), batch_size=2, seq_len=8, num_workers=num_workers)
    for i, _ in enumerate(loader):
        if i == 2:
            break
    clean()


@pytest.mark.parametrize("num_workers", [0, 2])
def test_exception_in_the_training_loop(
    make_dataset: MakeDataset, clean: Callable[[], None], num_workers: int
) -> None:
    loader = TokenLoader(make_dataset(), batch_size=2, seq_len=8, num_workers=num_workers)

    def train() -> None:
        for i, _ in enumerate(loader):
            if i == 1:
                raise RuntimeError("loss is nan")

    with pytest.raises(RuntimeError, match="loss is nan"):
        train()
    clean()


def test_an_abandoned_iterator_is_collected(
    make_dataset: MakeDataset, clean: Callable[[], None]
) -> None:
    loader = TokenLoader(make_dataset(), batch_size=2, seq_len=8)
    iterator = iter(loader)
    next(iterator)
    assert loader_threads()
    del iterator
    clean()


def test_a_new_epoch_stops_the_previous_iterator(
    make_dataset: MakeDataset, clean: Callable[[], None]
) -> None:
    loader = TokenLoader(make_dataset(), batch_size=2, seq_len=8, num_threads=3)
    first = iter(loader)
    next(first)
    second = iter(loader)
    assert len(loader_threads()) == 3 + 1
    assert list(first) == []
    next(second)
    del first, second
    clean()


def test_a_finished_epoch_leaves_nothing(
    make_dataset: MakeDataset, clean: Callable[[], None]
) -> None:
    loader = TokenLoader(make_dataset(), batch_size=2, seq_len=8)
    iterator = iter(loader)
    list(iterator)
    clean()
