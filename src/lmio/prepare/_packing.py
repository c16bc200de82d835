"""Phase 2 planning: drop duplicates across units, then pack the rows into shards.

Both steps walk the rows in global order and depend on nothing else, so the plan is the
same for any worker count or engine. The first occurrence of a text wins. A shard closes
once its token bytes reach `shard_bytes`, a row group once its tokens reach
`row_group_tokens`; a document longer than one row may span row groups and shards.

`ShardPlanner` takes the units one at a time, in order, as soon as each is done: the rows
of the units before are planned for good, so a row group can be written while later units
are still being tokenized. `plan_shards` feeds it every unit at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lmio.prepare._settings import JobContext
from lmio.prepare._unit_files import read_unit_index
from lmio.tokenizer import _native

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from lmio.prepare._inputs import Unit

__all__ = ["RowGroupPlan", "Segment", "ShardPlan", "ShardPlanner", "plan_shards"]


@dataclass(frozen=True)
class Segment:
    """Rows [start, stop) of one unit's files, all going to the same shard."""

    unit: int
    start: int
    stop: int
    source: str


@dataclass(frozen=True)
class ShardPlan:
    """What shard `index` holds: its segments in order, and rows per row group."""

    index: int
    segments: tuple[Segment, ...]
    row_groups: tuple[int, ...]
    documents: int


@dataclass(frozen=True)
class RowGroupPlan:
    """Row group `group` of shard `shard`: its rows, as segments in order."""

    shard: int
    group: int
    segments: tuple[Segment, ...]

    @property
    def rows(self) -> int:
        return sum(segment.stop - segment.start for segment in self.segments)


@dataclass
class _Open:
    """The shard being filled, and its row group."""

    index: int
    segments: list[Segment] = field(default_factory=list)
    row_groups: list[int] = field(default_factory=list)
    documents: int = 0
    token_bytes: int = 0
    group: list[Segment] = field(default_factory=list)
    group_tokens: int = 0


class ShardPlanner:
    """Plans shards from units fed in order (`add`), then `finish`. Each call returns what it
    completed: row groups (`RowGroupPlan`, in order) and shards (`ShardPlan`, after their
    last row group)."""

    def __init__(self, context: JobContext) -> None:
        settings = context.settings
        self._dedup = settings.clean.dedup
        self._itemsize = 2 if context.token_type == "uint16" else 4
        self._shard_bytes = settings.shard_bytes
        self._group_tokens = settings.row_group_tokens
        self._seen = _native.DigestSet()
        self._open = _Open(0)
        self.duplicates = 0  # documents dropped as duplicates of one in an earlier unit

    def add(self, unit: Unit, index: npt.NDArray[Any]) -> list[RowGroupPlan | ShardPlan]:
        """The rows of `unit` (its index records, read with read_unit_index)."""
        import numpy as np

        index = np.asarray(index).view(np.ndarray)  # a plain array: memmap indexing is slow
        last = index["last"].astype(bool)
        last_rows = np.flatnonzero(last)
        doc_keep = index["keep"][last_rows].astype(bool)
        if self._dedup and len(last_rows):
            candidates = np.flatnonzero(doc_keep)
            digests = np.ascontiguousarray(index["hash"][last_rows[candidates]])
            repeated = candidates[np.frombuffer(self._seen.add(digests.data), dtype=np.bool_) == 0]
            doc_keep[repeated] = False
            self.duplicates += len(repeated)
        doc_of_row = np.cumsum(last) - last
        kept = np.flatnonzero(doc_keep[doc_of_row]) if len(last_rows) else np.zeros(0, np.int64)
        return self._pack(unit, kept, index["n_tokens"][kept].astype(np.int64), last[kept])

    def finish(self) -> list[RowGroupPlan | ShardPlan]:
        """After the last unit: the last row group and shard, if they hold any rows."""
        out: list[RowGroupPlan | ShardPlan] = []
        if self._open.group:
            self._close_group(out)
        if self._open.segments:
            self._close_shard(out)
        return out

    def _pack(
        self,
        unit: Unit,
        rows: npt.NDArray[np.int64],
        tokens: npt.NDArray[np.int64],
        last: npt.NDArray[np.bool_],
    ) -> list[RowGroupPlan | ShardPlan]:
        import numpy as np

        out: list[RowGroupPlan | ShardPlan] = []
        cumulative = np.cumsum(tokens)
        start, n = 0, len(rows)
        while start < n:
            shard = self._open
            base = int(cumulative[start - 1]) if start else 0
            # the first row at which the shard's bytes, or the row group's tokens, reach their
            # target closes it (that row included)
            need_bytes = self._shard_bytes - shard.token_bytes
            need_tokens = -(-need_bytes // self._itemsize)
            shard_end = int(np.searchsorted(cumulative, base + need_tokens, side="left"))
            group_need = self._group_tokens - shard.group_tokens
            group_end = int(np.searchsorted(cumulative, base + group_need, side="left"))
            stop = min(shard_end, group_end, n - 1) + 1
            taken = int(cumulative[stop - 1]) - base
            self._take(unit, rows[start:stop], int(last[start:stop].sum()))
            shard.token_bytes += taken * self._itemsize
            shard.group_tokens += taken
            if stop - 1 in (shard_end, group_end):
                self._close_group(out)
            if stop - 1 == shard_end:
                self._close_shard(out)
            start = stop
        return out

    def _take(self, unit: Unit, rows: npt.NDArray[np.int64], documents: int) -> None:
        """Rows of `unit` (local indices, ascending) into the open row group and shard."""
        import numpy as np

        shard = self._open
        shard.documents += documents
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1
        starts = [0, *breaks.tolist()]
        stops = [*breaks.tolist(), len(rows)]
        values = rows.tolist()
        for a, b in zip(starts, stops, strict=True):
            segment = Segment(unit.index, values[a], values[b - 1] + 1, unit.source)
            for segments in (shard.segments, shard.group):
                if (
                    segments
                    and segments[-1].unit == unit.index
                    and (segments[-1].stop == segment.start)
                ):
                    previous = segments.pop()
                    segments.append(Segment(unit.index, previous.start, segment.stop, unit.source))
                else:
                    segments.append(segment)

    def _close_group(self, out: list[RowGroupPlan | ShardPlan]) -> None:
        shard = self._open
        group = RowGroupPlan(shard.index, len(shard.row_groups), tuple(shard.group))
        shard.row_groups.append(group.rows)
        shard.group = []
        shard.group_tokens = 0
        out.append(group)

    def _close_shard(self, out: list[RowGroupPlan | ShardPlan]) -> None:
        shard = self._open
        out.append(
            ShardPlan(
                index=shard.index,
                segments=tuple(shard.segments),
                row_groups=tuple(shard.row_groups),
                documents=shard.documents,
            )
        )
        self._open = _Open(shard.index + 1)


def plan_shards(context: JobContext, units: Sequence[Unit]) -> tuple[list[ShardPlan], int]:
    """The shards to write, and how many documents were duplicates of one in an earlier unit."""
    planner = ShardPlanner(context)
    events: list[RowGroupPlan | ShardPlan] = []
    for unit in units:
        events += planner.add(unit, read_unit_index(context, unit.index, context.storage_options))
    events += planner.finish()
    return [event for event in events if isinstance(event, ShardPlan)], planner.duplicates
