"""Phase 2 planning: drop duplicates across units, then pack the rows into shards.

Both steps walk the rows in global order and depend on nothing else, so the plan is the
same for any worker count or engine. The first occurrence of a text wins. A shard closes
once its token bytes reach `shard_bytes`, a row group once its tokens reach
`row_group_tokens`; a document longer than one row may span row groups and shards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lmio.errors import FormatError
from lmio.prepare._layout import Layout
from lmio.prepare._settings import JobContext
from lmio.prepare._unit_files import read_unit_file

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from lmio.prepare._inputs import Unit

__all__ = ["Segment", "ShardPlan", "plan_shards"]


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


@dataclass
class _Rows:
    n_tokens: npt.NDArray[np.int64]
    last: npt.NDArray[np.bool_]
    keep: npt.NDArray[np.bool_]
    hashes: npt.NDArray[np.uint8]  # (rows, 16)
    unit: npt.NDArray[np.int64]
    local: npt.NDArray[np.int64]


def plan_shards(context: JobContext, units: Sequence[Unit]) -> tuple[list[ShardPlan], int]:
    """The shards to write, and how many documents were duplicates of one in an earlier unit."""
    import numpy as np

    rows = _read_rows(context, units)
    settings = context.settings
    doc_of_row: npt.NDArray[np.int64] = np.cumsum(rows.last) - rows.last
    last_rows = np.flatnonzero(rows.last)
    doc_keep = rows.keep[last_rows].copy()
    duplicates = 0
    if settings.clean.dedup and len(last_rows):
        candidates = np.flatnonzero(doc_keep)
        keys = np.ascontiguousarray(rows.hashes[last_rows[candidates]])
        _, first = np.unique(keys.view(np.dtype((np.void, 16))).ravel(), return_index=True)
        repeated = np.ones(len(candidates), dtype=bool)
        repeated[first] = False
        doc_keep[candidates[repeated]] = False
        duplicates = int(repeated.sum())
    kept = np.flatnonzero(doc_keep[doc_of_row]) if len(last_rows) else np.zeros(0, np.int64)
    itemsize = 2 if context.token_type == "uint16" else 4
    sources = {unit.index: unit.source for unit in units}
    plans: list[ShardPlan] = []
    token_bytes = np.cumsum(rows.n_tokens[kept] * itemsize)
    for start, stop in _greedy(token_bytes, settings.shard_bytes):
        shard_rows = kept[start:stop]
        groups = _greedy(np.cumsum(rows.n_tokens[shard_rows]), settings.row_group_tokens)
        plans.append(
            ShardPlan(
                index=len(plans),
                segments=_segments(shard_rows, rows, sources),
                row_groups=tuple(b - a for a, b in groups),
                documents=int(rows.last[shard_rows].sum()),
            )
        )
    return plans, duplicates


def _read_rows(context: JobContext, units: Sequence[Unit]) -> _Rows:
    import numpy as np

    layout = Layout(context.out)
    parts: list[dict[str, Any]] = []
    for unit in units:
        table = read_unit_file(layout.unit_index(unit.index), context.storage_options)
        n = table.num_rows
        if n and not table.column("last")[n - 1].as_py():
            raise FormatError(
                f"{layout.unit_index(unit.index)} ends inside a document; the work folder is "
                f"damaged: delete {layout.work} and rerun"
            )
        hashes = table.column("hash").combine_chunks()
        buffer = np.frombuffer(hashes.buffers()[1], dtype=np.uint8)
        parts.append(
            {
                "n_tokens": table.column("n_tokens").to_numpy().astype(np.int64),
                "last": table.column("last").to_numpy(zero_copy_only=False),
                "keep": table.column("keep").to_numpy(zero_copy_only=False),
                "hashes": buffer[hashes.offset * 16 : (hashes.offset + n) * 16].reshape(n, 16),
                "unit": np.full(n, unit.index, dtype=np.int64),
                "local": np.arange(n, dtype=np.int64),
            }
        )
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return _Rows(
            empty, empty.astype(bool), empty.astype(bool), np.zeros((0, 16), np.uint8), empty, empty
        )
    return _Rows(**{key: np.concatenate([p[key] for p in parts]) for key in parts[0]})


def _greedy(cumulative: npt.NDArray[np.int64], target: int) -> list[tuple[int, int]]:
    """[start, stop) runs closing as soon as their sum reaches `target` (the last may be short)."""
    import numpy as np

    bounds: list[tuple[int, int]] = []
    start, n = 0, len(cumulative)
    while start < n:
        base = int(cumulative[start - 1]) if start else 0
        stop = min(int(np.searchsorted(cumulative, base + target, side="left")) + 1, n)
        bounds.append((start, stop))
        start = stop
    return bounds


def _segments(
    shard_rows: npt.NDArray[np.int64], rows: _Rows, sources: dict[int, str]
) -> tuple[Segment, ...]:
    import numpy as np

    units = rows.unit[shard_rows]
    local = rows.local[shard_rows]
    breaks = np.flatnonzero((np.diff(local) != 1) | (np.diff(units) != 0)) + 1
    starts = np.concatenate([[0], breaks])
    stops = np.concatenate([breaks, [len(shard_rows)]])
    return tuple(
        Segment(
            unit=int(units[a]),
            start=int(local[a]),
            stop=int(local[b - 1]) + 1,
            source=sources[int(units[a])],
        )
        for a, b in zip(starts.tolist(), stops.tolist(), strict=True)
    )
