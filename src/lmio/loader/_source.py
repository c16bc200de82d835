"""A dataset as the loader sees it: its row groups with their token and row counts (from the
manifest alone), and per-thread readers of one row group's tokens (flat values + offsets,
zero-copy from Arrow), each shard checked against the manifest when first opened."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from lmio.errors import FormatError, InvalidArgumentError

if TYPE_CHECKING:
    from lmio.store import Dataset, DiskCache, ShardReader

__all__ = ["Layout", "RowGroupReader", "ShardChecks", "TokenBlock", "open_layout"]


@dataclass(frozen=True)
class TokenBlock:
    """One decoded row group: row r's tokens are values[offsets[r]:offsets[r + 1]]."""

    values: np.ndarray
    offsets: np.ndarray

    @property
    def nbytes(self) -> int:
        return int(self.values.nbytes + self.offsets.nbytes)


@dataclass(frozen=True)
class Layout:
    """Every row group of one dataset in manifest order, with the manifest's counts."""

    dataset: Dataset
    group_shard: np.ndarray  # shard of each row group
    group_index: np.ndarray  # its index inside the shard
    group_tokens: np.ndarray
    group_rows: np.ndarray

    @property
    def url(self) -> str:
        return self.dataset.url

    @property
    def num_row_groups(self) -> int:
        return len(self.group_tokens)


def open_layout(
    dataset: str | os.PathLike[str] | Dataset,
    *,
    storage_options: dict[str, Any] | None = None,
    cache: DiskCache | None = None,
) -> Layout:
    """The layout of a dataset given by path or URL, or already opened."""
    from lmio.store import Dataset, open_dataset

    if isinstance(dataset, (str, os.PathLike)):
        dataset = open_dataset(dataset, storage_options=storage_options, cache=cache)
    elif not isinstance(dataset, Dataset):
        raise InvalidArgumentError(
            f"a TokenLoader reads a dataset path or URL, an lmio.store.Dataset or a Mixture, "
            f"got {type(dataset).__name__}"
        )
    shards = dataset.shards
    sizes = [len(s.row_group_tokens) for s in shards]
    return Layout(
        dataset=dataset,
        group_shard=np.repeat(np.arange(len(shards), dtype=np.int64), sizes),
        group_index=np.concatenate(
            [np.zeros(0, dtype=np.int64)] + [np.arange(n, dtype=np.int64) for n in sizes]
        ),
        group_tokens=np.array([t for s in shards for t in s.row_group_tokens], dtype=np.int64),
        group_rows=np.array([r for s in shards for r in s.row_group_rows], dtype=np.int64),
    )


class ShardChecks:
    """Verifies each shard's checksum once per process (when `verify`), shared by the reader
    threads: threads checking different shards run in parallel, a thread opening a shard
    under check waits for it. A shard not checked whole has its pages checked against their
    CRC-32s as they are read."""

    def __init__(self, layout: Layout, *, verify: bool) -> None:
        self.layout = layout
        self.verify = verify
        self._verified: set[int] = set()
        self._locks: dict[int, threading.Lock] = {}
        self._lock = threading.Lock()

    def open(self, shard: int) -> ShardReader:
        """Shard `shard` open for reading, its footer checked against the manifest."""
        dataset = self.layout.dataset
        if self.verify and shard not in self._verified:
            with self._lock:
                shard_lock = self._locks.setdefault(shard, threading.Lock())
            with shard_lock:
                if shard not in self._verified:
                    dataset.open_shard(shard, verify=True).close()
                    self._verified.add(shard)
        reader = dataset.open_shard(shard, check_pages=not self.verify)  # sha256 covers them
        info = dataset.shards[shard]
        if reader.num_row_groups != len(info.row_group_rows) or reader.num_rows != info.rows:
            reader.close()
            raise FormatError(
                f"shard {info.path} of {dataset.url} disagrees with the manifest: it holds "
                f"{reader.num_rows} rows in {reader.num_row_groups} row groups, the manifest "
                f"says {info.rows} in {len(info.row_group_rows)}; restore the shard or "
                "prepare the dataset again"
            )
        return reader


# Shards one reader thread keeps open, least recently used closed first: an open shard holds
# a file descriptor and, read through a DiskCache, a pin that keeps it from being evicted.
_OPEN_SHARDS = 4


class RowGroupReader:
    """One reader thread's view of a dataset: shards opened as needed (at most _OPEN_SHARDS
    at a time), row groups decoded without copying their values, and checked against the
    manifest's counts."""

    def __init__(self, checks: ShardChecks) -> None:
        self._checks = checks
        self._layout = checks.layout
        self._files: OrderedDict[int, ShardReader] = OrderedDict()

    def __call__(self, group: int) -> TokenBlock:
        layout = self._layout
        shard = int(layout.group_shard[group])
        reader = self._files.get(shard)
        if reader is None:
            reader = self._files[shard] = self._checks.open(shard)
            if len(self._files) > _OPEN_SHARDS:
                self._files.popitem(last=False)[1].close()
        else:
            self._files.move_to_end(shard)
        index = int(layout.group_index[group])
        values, offsets = reader.read_tokens(index)
        info = layout.dataset.shards[shard]
        if values.dtype not in (np.uint16, np.uint32):
            raise FormatError(
                f"shard {info.path} of {layout.url} holds {values.dtype} tokens, not uint16 or "
                "uint32: its schema changed since the manifest was written; prepare the "
                "dataset again"
            )
        if len(values) != layout.group_tokens[group]:
            raise FormatError(
                f"row group {index} of shard {info.path} holds {len(values)} tokens, the "
                f"manifest of {layout.url} says {int(layout.group_tokens[group])}: restore "
                "the shard or prepare the dataset again"
            )
        return TokenBlock(values, offsets)
