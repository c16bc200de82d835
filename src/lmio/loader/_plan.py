"""The sample order: which sample each position of an epoch holds, planned from counts alone.

A *sample* is one training row. With packing="concat" it is a window of seq_len + 1 tokens
cut from the token stream of one row group; with packing="pad" it is one document. Sample ids
count samples in manifest order, row group after row group, so an id names the same tokens
whatever the seed, epoch or world size.

An epoch's order is a pure function of (seed, stream, epoch, counts): the row groups are
permuted, their samples laid out one row group after the other, and that layout is shuffled
inside consecutive windows of `window` samples. Any position maps to its sample without
materialising the epoch: the row-group permutation is O(row groups), and a window's shuffle is
built when a batch first needs it. The state of a reader is therefore (epoch, position).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from lmio.errors import InvalidArgumentError

__all__ = ["Partition", "Plan", "Schedule", "SourceOrder"]

# How many epochs' row-group permutations and shuffle windows stay built (a batch near a
# boundary spans two of each; a few more spare rebuilding when DataLoader workers interleave).
_EPOCHS_KEPT = 2
_WINDOWS_KEPT = 8
# Weights of a mixture are rounded to multiples of 1 / _MIX_PERIOD (then reduced by their gcd).
_MIX_PERIOD = 10_000


class SourceOrder:
    """The order, epoch by epoch, of one dataset's samples."""

    def __init__(
        self, counts: np.ndarray, *, seed: int, stream: int, shuffle: bool, window: int
    ) -> None:
        self.counts = np.asarray(counts, dtype=np.int64)
        # starts[g] is the id of row group g's first sample; starts[-1] the number of samples.
        self.starts = np.concatenate([[0], np.cumsum(self.counts)]).astype(np.int64)
        self.total = int(self.starts[-1])
        self._seed = seed
        self._stream = stream
        self._shuffle = shuffle
        self._window = window
        self._epochs: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._windows: OrderedDict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = OrderedDict()

    def sample_ids(self, row_group: np.ndarray, index: np.ndarray) -> np.ndarray:
        ids: np.ndarray = self.starts[row_group] + index
        return ids

    def locate(self, epoch: int, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row group, and sample index inside it, at `positions` (< total) of `epoch`'s order."""
        if not self._shuffle:
            row_group = np.searchsorted(self.starts, positions, side="right") - 1
            return row_group, positions - self.starts[row_group]
        row_group = np.empty(len(positions), dtype=np.int64)
        index = np.empty(len(positions), dtype=np.int64)
        windows = positions // self._window
        for w in np.unique(windows).tolist():
            mask = windows == w
            window_groups, window_index = self._shuffled_window(epoch, w)
            local = positions[mask] - w * self._window
            row_group[mask] = window_groups[local]
            index[mask] = window_index[local]
        return row_group, index

    def row_group_order(self, epoch: int) -> np.ndarray:
        """The row groups in the order `epoch` first reads them (up to a shuffle window)."""
        if not self._shuffle:
            return np.arange(len(self.counts))
        return self._epoch_layout(epoch)[0]

    def _epoch_layout(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """The epoch's row-group permutation and where each permuted group's samples start."""
        layout = self._epochs.get(epoch)
        if layout is None:
            rng = np.random.default_rng([self._seed, self._stream, epoch])
            order = rng.permutation(len(self.counts))
            layout = order, np.concatenate([[0], np.cumsum(self.counts[order])])
            self._epochs[epoch] = layout
            if len(self._epochs) > _EPOCHS_KEPT:
                self._epochs.popitem(last=False)
        return layout

    def _shuffled_window(self, epoch: int, window: int) -> tuple[np.ndarray, np.ndarray]:
        key = (epoch, window)
        built = self._windows.get(key)
        if built is None:
            order, starts = self._epoch_layout(epoch)
            lo = window * self._window
            hi = min(self.total, lo + self._window)
            positions = np.arange(lo, hi, dtype=np.int64)
            slot = np.searchsorted(starts, positions, side="right") - 1
            rng = np.random.default_rng([self._seed, self._stream, epoch, window + 1])
            shuffle = rng.permutation(hi - lo)
            built = order[slot][shuffle], (positions - starts[slot])[shuffle]
            self._windows[key] = built
            if len(self._windows) > _WINDOWS_KEPT:
                self._windows.popitem(last=False)
        else:
            self._windows.move_to_end(key)
        return built


class Schedule:
    """Which source each position of a mixed stream takes: exact, periodic and deterministic.

    Weights become integer quotas per period: exactly when they are ratios of small integers
    (3:1, 0.7/0.2/0.1, thirds), else rounded to multiples of 1/10,000 (largest remainder).
    Inside a period the sources are interleaved evenly (source s's k-th slot sits at
    (k + 1/2) / quota_s of the period), so every prefix of the stream holds each source
    within about one sample of its quota's share.
    """

    def __init__(self, weights: Sequence[float]) -> None:
        quota = _quotas(weights)
        if (quota == 0).any():
            source = int(np.flatnonzero(quota == 0)[0])
            raise InvalidArgumentError(
                f"mixture weight {weights[source]} of source {source} is below 1/{_MIX_PERIOD} "
                "of the total: raise it or leave that source out"
            )
        self.quota = quota // math.gcd(*quota.tolist())
        self.period = int(self.quota.sum())
        sources = np.repeat(np.arange(len(self.quota)), self.quota)
        ranks = np.concatenate([np.arange(q) for q in self.quota.tolist()])
        when = (ranks + 0.5) / self.quota[sources]
        interleave = np.lexsort((sources, when))
        self.source_of = sources[interleave]
        self.rank_of = ranks[interleave]

    def locate(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Source of each stream position, and how many earlier positions that source had."""
        cycle, slot = np.divmod(positions, self.period)
        source = self.source_of[slot]
        return source, cycle * self.quota[source] + self.rank_of[slot]


def _quotas(weights: Sequence[float]) -> np.ndarray:
    exact = [Fraction(w).limit_denominator(_MIX_PERIOD) for w in weights]
    if all(math.isclose(float(f), w, rel_tol=1e-12) for f, w in zip(exact, weights, strict=True)):
        common = math.lcm(*(f.denominator for f in exact))
        quota = np.array([f.numerator * (common // f.denominator) for f in exact], dtype=np.int64)
        if quota.sum() <= _MIX_PERIOD * len(weights):
            return quota
    ideal = np.asarray(weights, dtype=np.float64) / math.fsum(weights) * _MIX_PERIOD
    quota = np.floor(ideal).astype(np.int64)
    by_remainder = np.argsort(-(ideal - quota), kind="stable")
    quota[by_remainder[: _MIX_PERIOD - int(quota.sum())]] += 1
    return quota


class Plan:
    """The global sample order of every epoch, over one dataset or a weighted mixture.

    Epoch e holds stream positions [e * samples_per_epoch, (e + 1) * samples_per_epoch). A
    source's own epochs roll over independently: its n-th sample in the stream is position
    n % total of its order for source epoch n // total.
    """

    def __init__(
        self, sources: Sequence[SourceOrder], schedule: Schedule, *, samples_per_epoch: int
    ) -> None:
        self.sources = list(sources)
        self.schedule = schedule
        self.samples_per_epoch = samples_per_epoch

    def locate(
        self, epoch: int, positions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Source, row group and index inside it of the samples at `positions` of `epoch`."""
        stream = epoch * self.samples_per_epoch + positions
        source, count = self.schedule.locate(stream)
        row_group = np.empty(len(positions), dtype=np.int64)
        index = np.empty(len(positions), dtype=np.int64)
        for s in np.unique(source).tolist():
            mask = source == s
            order = self.sources[s]
            source_epoch, at = np.divmod(count[mask], order.total)
            groups = np.empty(len(at), dtype=np.int64)
            inside = np.empty(len(at), dtype=np.int64)
            for e in np.unique(source_epoch).tolist():
                part = source_epoch == e
                groups[part], inside[part] = order.locate(e, at[part])
            row_group[mask], index[mask] = groups, inside
        return source, row_group, index


@dataclass(frozen=True)
class Partition:
    """One consumer's share of an epoch: rank r takes every world_size-th position from the
    resume point on, in batches of batch_size; DataLoader worker w takes every num_workers-th
    of those batches, so the batches reach the training loop in the same order whatever the
    number of workers. The order does not depend on world_size, so a run can resume on
    another world size: every rank continues from the same global position."""

    rank: int
    world_size: int
    batch_size: int
    drop_last: bool
    worker: int = 0
    num_workers: int = 1

    def num_batches(self, start: int, total: int) -> int:
        """Batches this rank yields for positions [start, total) (all workers together)."""
        if self.drop_last:
            return max(0, total - start) // (self.world_size * self.batch_size)
        return -(-self._num_samples(start, total) // self.batch_size)

    def worker_batches(self, start: int, total: int) -> range:
        return range(self.worker, self.num_batches(start, total), self.num_workers)

    def positions(self, start: int, total: int, batch: int) -> np.ndarray:
        """The epoch positions of this rank's `batch`-th batch from `start`."""
        first = batch * self.batch_size
        last = min(first + self.batch_size, self._num_samples(start, total))
        return start + self.rank + self.world_size * np.arange(first, last, dtype=np.int64)

    def position_after(self, start: int, total: int, batches: int) -> int:
        """The global position once every rank has yielded `batches` batches from `start`."""
        return min(total, start + batches * self.world_size * self.batch_size)

    def _num_samples(self, start: int, total: int) -> int:
        return max(0, -(-(total - start - self.rank) // self.world_size))
