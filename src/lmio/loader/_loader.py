"""TokenLoader: batches of token windows or padded documents for PyTorch, deterministic and
resumable, read by threads ahead of use."""

from __future__ import annotations

import hashlib
import logging
import math
import os
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
import torch.utils.data

from lmio._cpus import usable_cpus
from lmio._units import format_bytes
from lmio.errors import DataError, InvalidArgumentError
from lmio.loader._cache import LruCache
from lmio.loader._metrics import LoaderMetrics, MetricsRecorder
from lmio.loader._mixing import Mixture
from lmio.loader._packing import IGNORE_INDEX, Packer, window_counts
from lmio.loader._pipeline import BatchPipeline, Job
from lmio.loader._plan import Partition, Plan, Schedule, SourceOrder
from lmio.loader._readers import ReaderPool
from lmio.loader._source import Layout, RowGroupReader, ShardChecks, TokenBlock, open_layout
from lmio.loader._state import LoaderState

if TYPE_CHECKING:
    from lmio.store import Dataset, DiskCache

__all__ = ["TokenLoader"]

logger = logging.getLogger(__name__)

Batch = dict[str, torch.Tensor]
Packing = Literal["concat", "pad"]

# Batches whose samples are looked up in the plan together.
_PLAN_CHUNK = 64
_MAX_READ_AHEAD = 256
_MAX_DEFAULT_THREADS = 4


class TokenLoader(torch.utils.data.IterableDataset[Batch]):
    """Batches of `input_ids` and `labels` [batch_size, seq_len] from a tokenized dataset.

    `dataset` is the path or URL of a dataset written by `lmio prepare`, an opened dataset, or
    a `Mixture` of several. With packing="concat" each sample is a window of seq_len + 1
    tokens cut from a row group's documents joined end to end (each ends with EOS); windows
    start every seq_len tokens and a row group's tail shorter than a window is left out;
    input_ids and labels are two views of one [B, T + 1] buffer. `boundaries=True` adds `position_ids` (restarting at each document) and `document_ids`
    for document-masked attention (see `document_attention_mask`). With packing="pad" each
    sample is one document, truncated to seq_len + 1 tokens or padded with `pad_id`; labels
    are -100 where there is nothing to predict and `attention_mask` marks the real tokens.
    `sample_ids=True` adds `sample_id` [B] (and `source` [B] for a mixture): stable ids
    counting samples in manifest order.

    Each `iter()` runs one epoch (it continues the current one after a resume or an early
    `break`). The order of an epoch is a pure function of the seed and the epoch: row groups
    are permuted and samples shuffled within windows of `shuffle_window` samples. Rank r of
    world_size takes every world_size-th sample of that global order, so `state_dict()`
    (epoch and global position, O(1)) lets any world size continue the same order with no
    sample lost or repeated. rank and world_size default to torch.distributed's, else to the
    RANK and WORLD_SIZE environment variables, else to 0 and 1.

    Reading: `num_threads` reader threads per process (default: one per usable core, at most
    4; more threads than cores only contend) decode row groups ahead of use into an LRU cache
    of `cache_bytes`; a builder thread keeps `prefetch` batches ready. With
    `num_workers` > 0 the batches are built in that many DataLoader worker processes (each
    with its own threads and cache) and still arrive in the same order. The loader is also a
    `torch.utils.data.IterableDataset`: in a DataLoader of your own (batch_size=None), its
    workers split the batches the same way, but only the loader's own iteration tracks the
    state. `verify=True` checks each shard's sha256 against the manifest once per process,
    when the shard is first opened.

    Remote datasets (`s3://...`, any fsspec URL) take `storage_options`; with `disk_cache`
    (an `lmio.store.DiskCache`) their shards are read from verified local copies, shared by
    every process on the node, under the cache's byte limit.
    """

    def __init__(
        self,
        dataset: str | os.PathLike[str] | Dataset | Mixture,
        *,
        batch_size: int,
        seq_len: int,
        shuffle: bool = True,
        seed: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
        num_threads: int | None = None,
        prefetch: int = 8,
        packing: Packing = "concat",
        drop_last: bool = True,
        cache_bytes: int = 1 << 30,
        pin_memory: bool = False,
        shuffle_window: int = 8192,
        num_workers: int = 0,
        boundaries: bool = False,
        sample_ids: bool = False,
        pad_id: int = 0,
        verify: bool = True,
        storage_options: dict[str, Any] | None = None,
        disk_cache: DiskCache | None = None,
    ) -> None:
        super().__init__()
        if num_threads is None:
            num_threads = min(_MAX_DEFAULT_THREADS, usable_cpus())
        _check_options(
            batch_size=batch_size,
            seq_len=seq_len,
            seed=seed,
            num_threads=num_threads,
            prefetch=prefetch,
            packing=packing,
            cache_bytes=cache_bytes,
            shuffle_window=shuffle_window,
            num_workers=num_workers,
            pad_id=pad_id,
        )
        if boundaries and packing != "concat":
            raise InvalidArgumentError(
                "boundaries=True needs packing='concat' (with packing='pad' each row is one "
                "document already)"
            )
        self.batch_size = batch_size
        self.seq_len = seq_len
        self.shuffle = shuffle
        self.seed = seed
        self.rank, self.world_size = _resolve_rank(rank, world_size)
        self.num_threads = num_threads
        self.prefetch = prefetch
        self.packing: Packing = packing
        self.drop_last = drop_last
        self.cache_bytes = cache_bytes
        self.pin_memory = pin_memory
        self.shuffle_window = shuffle_window
        self.num_workers = num_workers
        self.boundaries = boundaries
        self.pad_id = pad_id
        self.verify = verify
        self._sample_ids = sample_ids

        mixture = dataset if isinstance(dataset, Mixture) else None
        sources = dataset.datasets if isinstance(dataset, Mixture) else [dataset]
        self._layouts = [
            open_layout(source, storage_options=storage_options, cache=disk_cache)
            for source in sources
        ]
        counts = [self._sample_counts(layout) for layout in self._layouts]
        orders = [
            SourceOrder(c, seed=seed, stream=i, shuffle=shuffle, window=shuffle_window)
            for i, c in enumerate(counts)
        ]
        schedule = Schedule(mixture.weights if mixture is not None else [1.0])
        per_epoch = (
            mixture.samples_per_epoch
            if mixture is not None and mixture.samples_per_epoch is not None
            else sum(order.total for order in orders)
        )
        self._plan = Plan(orders, schedule, samples_per_epoch=per_epoch)
        self._mixed = mixture is not None
        self._read_ahead = self._plan_read_ahead()
        # Row-group keys: source s's row group g is key offsets[s] + g.
        self._key_offsets = np.cumsum([0] + [layout.num_row_groups for layout in self._layouts])
        self._order = {
            "seed": seed,
            "packing": packing,
            "seq_len": seq_len,
            "shuffle": shuffle,
            "shuffle_window": shuffle_window,
            "samples_per_epoch": per_epoch,
            "quota": schedule.quota.tolist(),
            "sources": [
                {"samples": order.total, "counts_sha256": _digest(order.counts)} for order in orders
            ],
        }
        self._pin = pin_memory and torch.cuda.is_available()
        if pin_memory and not self._pin:
            logger.info("pin_memory=True has no effect: CUDA is not available")
        self._epoch = 0
        self._position = 0
        self._fresh_process_state()

    def _fresh_process_state(self) -> None:
        """What belongs to one process (locks, decoded data, counters): made anew in a
        DataLoader worker or after unpickling."""
        self._active: weakref.ref[_EpochIterator] | None = None
        self._cache: LruCache[int, TokenBlock] = LruCache(self.cache_bytes)
        self._metrics = MetricsRecorder()
        # Shards checked against the manifest (and their checksums) once per process.
        self._checks = [ShardChecks(layout, verify=self.verify) for layout in self._layouts]

    # ----- what the order looks like -------------------------------------------------------

    @property
    def samples_per_epoch(self) -> int:
        """Samples in one epoch of the global order, all ranks together."""
        return self._plan.samples_per_epoch

    @property
    def epoch(self) -> int:
        """The epoch the next batch comes from."""
        return self._epoch

    def __len__(self) -> int:
        """Batches this rank yields in a whole epoch."""
        return self._partition().num_batches(0, self.samples_per_epoch)

    # ----- state ---------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Where the order stands: epoch and global position (samples taken by all ranks), plus
        what fixes the order, so a mismatched resume is refused. O(1) in the dataset size."""
        return LoaderState(self._epoch, self._position, self._order).to_dict()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from `state`: the next batch is the one that followed when it was saved,
        for this rank of this world size (which may differ from the saving run's)."""
        loaded = LoaderState.from_dict(state, expected_order=self._order)
        self._close_active()
        self._epoch, self._position = loaded.epoch, loaded.position
        if self._position == self.samples_per_epoch:
            self._epoch, self._position = self._epoch + 1, 0

    # ----- metrics -------------------------------------------------------------------------

    def metrics(self) -> LoaderMetrics:
        """Tokens delivered and tokens/s, time spent waiting for data, cache hit rate."""
        return self._metrics.snapshot()

    def reset_metrics(self) -> None:
        self._metrics.reset()

    # ----- iteration -----------------------------------------------------------------------

    def __iter__(self) -> Iterator[Batch]:
        info = torch.utils.data.get_worker_info()
        if info is not None:
            # Inside a DataLoader worker: this worker's share of the current epoch.
            partition = self._partition(worker=info.id, num_workers=info.num_workers)
            return self._worker_batches(partition, self._epoch, self._position)
        self._close_active()
        iterator = _EpochIterator(self)
        self._active = weakref.ref(iterator)
        return iterator

    def _worker_batches(self, partition: Partition, epoch: int, start: int) -> Iterator[Batch]:
        # A worker process has a copy of this loader; its cache and counters are its own.
        self._fresh_process_state()
        pipeline = self._pipeline(partition, epoch, start, pin=False)
        try:
            while True:
                try:
                    batch, _ = pipeline.next()
                except StopIteration:
                    return
                yield batch
        finally:
            pipeline.close()

    def _pipeline(
        self, partition: Partition, epoch: int, start: int, *, pin: bool
    ) -> BatchPipeline:
        # Imported here, before the threads start: imported by the first reader thread, it
        # holds the GIL and the import lock while the other readers and the builder wait.
        import pyarrow.parquet  # noqa: F401

        packer = Packer(
            seq_len=self.seq_len,
            packing=self.packing,
            pad_id=self.pad_id,
            boundaries=self.boundaries,
            pin=pin,
        )
        checks = self._checks
        offsets = self._key_offsets

        def make_reader() -> Callable[[int], TokenBlock]:
            readers = [RowGroupReader(c) for c in checks]

            def read(key: int) -> TokenBlock:
                source = int(np.searchsorted(offsets, key, side="right")) - 1
                return readers[source](key - int(offsets[source]))

            return read

        for layout, order in zip(self._layouts, self._plan.sources, strict=True):
            groups = order.row_group_order(epoch)
            shards, indexes = (
                layout.group_shard[groups].tolist(),
                layout.group_index[groups].tolist(),
            )
            layout.dataset.plan_reads(list(zip(shards, indexes, strict=True)))
        pool: ReaderPool[int, TokenBlock] = ReaderPool(
            make_reader, threads=self.num_threads, cache=self._cache, metrics=self._metrics
        )
        return BatchPipeline(
            self._jobs(partition, epoch, start),
            pool=pool,
            packer=packer,
            prefetch=self.prefetch,
            read_ahead=self._read_ahead,
        )

    def _plan_read_ahead(self) -> int:
        """Row groups the readers may decode ahead of the batch being built: those one shuffle
        window spans (the first batch of a window draws from all of them) and two per thread,
        no more than a quarter of the cache holds, and at most _MAX_READ_AHEAD. Reading
        further ahead holds more decoded memory without making a batch sooner."""
        window_groups = sum(
            1 + math.ceil(min(self.shuffle_window, order.total) / (order.total / len(order.counts)))
            if self.shuffle
            else 1
            for order in self._plan.sources
        )
        wanted = window_groups + 2 * self.num_threads
        group_bytes = self._decoded_bytes() / max(1, sum(len(o.counts) for o in self._plan.sources))
        fit = int(self.cache_bytes // 4 // max(1.0, group_bytes))
        if self.cache_bytes and self.cache_bytes < window_groups * group_bytes:
            logger.warning(
                "cache_bytes=%d holds fewer row groups than a shuffle window spans (%d of "
                "about %s each): row groups will be decoded again and again; raise cache_bytes "
                "to %s or more, or lower shuffle_window",
                self.cache_bytes,
                window_groups,
                format_bytes(group_bytes),
                format_bytes(2 * window_groups * group_bytes),
            )
        return int(min(_MAX_READ_AHEAD, max(2 * self.num_threads, min(wanted, fit))))

    def _decoded_bytes(self) -> int:
        """Every row group decoded: its tokens and its row offsets."""
        return sum(
            int(layout.group_tokens.sum()) * (2 if layout.dataset.token_type == "uint16" else 4)
            + int(layout.group_rows.sum()) * 8
            for layout in self._layouts
        )

    def _jobs(self, partition: Partition, epoch: int, start: int) -> Iterator[Job]:
        """This consumer's batches, planned _PLAN_CHUNK batches at a time (one vectorised
        lookup each: per batch it would cost more than building the batch)."""
        total = self.samples_per_epoch
        batches = partition.worker_batches(start, total)
        for lo in range(0, len(batches), _PLAN_CHUNK):
            chunk = [partition.positions(start, total, b) for b in batches[lo : lo + _PLAN_CHUNK]]
            positions = np.concatenate(chunk)
            source, group, index = self._plan.locate(epoch, positions)
            keys = self._key_offsets[source] + group
            ids = self._ids(source, group, index) if self._sample_ids else None
            at = 0
            for size in map(len, chunk):
                part = slice(at, at + size)
                at += size
                extras: dict[str, np.ndarray] = {}
                if ids is not None:
                    extras["sample_id"] = ids[part]
                    if self._mixed:
                        extras["source"] = source[part]
                yield Job.of(keys[part], index[part], extras)

    def _ids(self, source: np.ndarray, group: np.ndarray, index: np.ndarray) -> np.ndarray:
        ids = np.empty(len(source), dtype=np.int64)
        for s in np.unique(source).tolist():
            mask = source == s
            ids[mask] = self._plan.sources[s].sample_ids(group[mask], index[mask])
        return ids

    def _partition(self, *, worker: int = 0, num_workers: int = 1) -> Partition:
        return Partition(
            rank=self.rank,
            world_size=self.world_size,
            batch_size=self.batch_size,
            drop_last=self.drop_last,
            worker=worker,
            num_workers=num_workers,
        )

    def _close_active(self) -> None:
        active = self._active() if self._active is not None else None
        if active is not None:
            active.close()
        self._active = None

    def _sample_counts(self, layout: Layout) -> np.ndarray:
        if self.packing == "pad":
            counts = layout.group_rows
            if counts.sum() == 0:
                raise DataError(f"dataset {layout.url} holds no documents: it is empty")
            return counts
        counts = window_counts(layout.group_tokens, self.seq_len)
        if counts.sum() == 0:
            largest = int(layout.group_tokens.max()) if layout.num_row_groups else 0
            raise DataError(
                f"dataset {layout.url} holds no window of seq_len + 1 = {self.seq_len + 1} "
                f"tokens (its largest row group holds {largest} tokens): use a shorter "
                "seq_len, packing='pad', or a dataset with more tokens"
            )
        return counts

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in ("_active", "_cache", "_metrics", "_checks"):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._fresh_process_state()


class _EpochIterator(Iterator[Batch]):
    """The loader's own iteration of one epoch (on threads, or through DataLoader workers);
    advances the loader's state with each batch it hands out. Dropping it (an early `break`,
    an exception, garbage collection) stops every thread and process it started."""

    def __init__(self, loader: TokenLoader) -> None:
        self._loader = loader
        self._epoch = loader._epoch
        self._start = loader._position
        self._partition = loader._partition()
        self._total = loader.samples_per_epoch
        self._taken = 0
        run: BatchPipeline | _WorkerRun
        if loader.num_workers > 0:
            run = _WorkerRun(loader)
        else:
            run = loader._pipeline(self._partition, self._epoch, self._start, pin=loader._pin)
        self._run = run
        self._finalizer = weakref.finalize(self, run.close)

    def __next__(self) -> Batch:
        if not self._finalizer.alive:
            raise StopIteration
        metrics = self._loader._metrics
        requested = metrics.batch_requested()
        try:
            batch, tokens = self._run.next()
        except StopIteration:
            self.close()
            self._loader._epoch, self._loader._position = self._epoch + 1, 0
            raise
        except BaseException:
            self.close()
            raise
        metrics.batch_delivered(requested, tokens)
        self._taken += 1
        self._loader._position = self._partition.position_after(
            self._start, self._total, self._taken
        )
        return batch

    def close(self) -> None:
        """Stop reading now; the loader's state stays at the last batch handed out."""
        self._finalizer()


class _WorkerRun:
    """The current epoch built by DataLoader worker processes; batches come back in order."""

    def __init__(self, loader: TokenLoader) -> None:
        self._concat = loader.packing == "concat"
        self._dataloader = torch.utils.data.DataLoader(
            loader,
            batch_size=None,
            num_workers=loader.num_workers,
            pin_memory=loader._pin,
            prefetch_factor=max(1, loader.prefetch // loader.num_workers),
        )
        self._iterator: Iterator[Batch] | None = iter(self._dataloader)

    def next(self) -> tuple[Batch, int]:
        if self._iterator is None:
            raise StopIteration
        batch = next(self._iterator)
        labels = batch["labels"]
        tokens = labels.numel() if self._concat else int((labels != IGNORE_INDEX).sum())
        return batch, tokens

    def close(self) -> None:
        # Dropping the DataLoader's iterator shuts its worker processes down and joins them.
        self._iterator = None


def _resolve_rank(rank: int | None, world_size: int | None) -> tuple[int, int]:
    if rank is None or world_size is None:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            found = dist.get_rank(), dist.get_world_size()
        else:
            found = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
        rank = found[0] if rank is None else rank
        world_size = found[1] if world_size is None else world_size
    if world_size < 1 or not 0 <= rank < world_size:
        raise InvalidArgumentError(
            f"rank must be in [0, world_size) and world_size >= 1, got rank {rank} and "
            f"world_size {world_size}"
        )
    return rank, world_size


def _check_options(**options: Any) -> None:
    minimum = {
        "batch_size": 1,
        "seq_len": 2,
        "seed": 0,
        "num_threads": 1,
        "prefetch": 1,
        "cache_bytes": 0,
        "shuffle_window": 1,
        "num_workers": 0,
        "pad_id": 0,
    }
    for name, least in minimum.items():
        value = options[name]
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise InvalidArgumentError(f"{name} must be an integer >= {least}, got {value!r}")
    if options["packing"] not in ("concat", "pad"):
        raise InvalidArgumentError(f"packing must be 'concat' or 'pad', got {options['packing']!r}")


def _digest(values: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(values, dtype="<i8").tobytes()).hexdigest()[:16]
