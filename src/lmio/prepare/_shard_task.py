"""Phase 2 writing: a planned shard assembled from unit files and written by lmio's writer.

A shard is written whole by one task (`write_planned_shard`), or row group by row group as
the units it draws on finish (`ShardStream`, on a thread of the process that plans): the
same row groups through the same writer, so the same bytes. Row groups are numpy arrays
sliced from the work files' buffers, handed to the writer as they are (no Arrow tables).
"""

from __future__ import annotations

import json
import queue
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future
from typing import Any

from lmio.errors import FormatError, InvalidArgumentError
from lmio.prepare._layout import Layout
from lmio.prepare._packing import RowGroupPlan, Segment, ShardPlan
from lmio.prepare._settings import JobContext
from lmio.prepare._unit_files import UnitData, read_unit_data
from lmio.store._files import checksum_file, exists, read_bytes, write_bytes_atomic
from lmio.store._shards import RowGroup, ShardRecord, write_shard

__all__ = ["ShardStream", "finished_shard", "write_planned_shard"]

_INT32_MAX = (1 << 31) - 1


def row_group(
    context: JobContext, segments: Sequence[Segment], units: dict[int, UnitData]
) -> RowGroup:
    """The rows of `segments` as one row group of the shard (units read into `units`)."""
    import numpy as np

    values, counts, ids, codes = [], [], [], []
    names = sorted({segment.source for segment in segments})
    for segment in segments:
        data = units.get(segment.unit)
        if data is None:
            data = units[segment.unit] = read_unit_data(context, segment.unit)
        start, stop = segment.start, segment.stop
        values.append(data.tokens[data.offsets[start] : data.offsets[stop]])
        counts.append(data.index["n_tokens"][start:stop])
        ids.append(data.index["doc_id"][start:stop])
        codes.append(np.full(stop - start, names.index(segment.source), dtype=np.int32))
    n_tokens = np.concatenate(counts).astype(np.uint32)
    total = int(n_tokens.sum(dtype=np.uint64))
    if total > _INT32_MAX:
        raise InvalidArgumentError(
            f"a row group of {total} tokens is more than a Parquet list holds; lower "
            "row_group_tokens (--row-group-tokens)"
        )
    return RowGroup(
        tokens=np.concatenate(values),
        n_tokens=n_tokens,
        doc_id=np.concatenate(ids).astype(np.uint64),
        source_codes=np.concatenate(codes),
        source_names=tuple(names),
    )


def write_planned_shard(context: JobContext, plan: ShardPlan) -> ShardRecord:
    """Write shard `plan.index`, then its record in the work folder."""
    units: dict[int, UnitData] = {}
    groups: list[tuple[Segment, ...]] = []
    segments = list(plan.segments)
    for group_rows in plan.row_groups:
        group: list[Segment] = []
        rows = group_rows
        while rows:
            segment = segments.pop(0)
            take = min(rows, segment.stop - segment.start)
            group.append(Segment(segment.unit, segment.start, segment.start + take, segment.source))
            if take < segment.stop - segment.start:
                segments.insert(
                    0, Segment(segment.unit, segment.start + take, segment.stop, segment.source)
                )
            rows -= take
        groups.append(tuple(group))
    row_groups = (row_group(context, group, units) for group in groups)
    return _write(context, plan.index, row_groups, lambda: plan)


def _write(
    context: JobContext,
    index: int,
    row_groups: Iterator[RowGroup],
    plan_of: Callable[[], ShardPlan],
) -> ShardRecord:
    """Shard `index` from its row groups, checked against its plan (known once the row
    groups are done), then its record."""
    layout = Layout(context.out)
    record = write_shard(
        layout.shard(index),
        row_groups,
        token_type=context.token_type,
        storage_options=context.storage_options,
    )
    plan = plan_of()
    if record.row_group_rows != plan.row_groups:  # pragma: no cover - a planning bug
        raise RuntimeError(
            f"shard {plan.index} was written with row groups {record.row_group_rows}, "
            f"planned {plan.row_groups}"
        )
    body = {"documents": plan.documents, **record.to_dict()}
    write_bytes_atomic(
        layout.shard_record(plan.index),
        json.dumps(body, sort_keys=True).encode(),
        storage_options=context.storage_options,
    )
    return record


class _AbortedError(Exception):
    """The run stopped: the shard being streamed is dropped (its temporary file removed)."""


class ShardStream:
    """Shard `index` written on `thread` as its row groups come (`put`), closed by its plan."""

    def __init__(self, context: JobContext, index: int, thread: Executor) -> None:
        self.index = index
        self._context = context
        self._queue: queue.SimpleQueue[RowGroupPlan | ShardPlan | None] = queue.SimpleQueue()
        self.future: Future[ShardRecord] = thread.submit(self._run)

    def put(self, item: RowGroupPlan | ShardPlan) -> None:
        self._queue.put(item)

    def abort(self) -> None:
        self._queue.put(None)

    def _run(self) -> ShardRecord:
        plans: list[ShardPlan] = []
        units: dict[int, UnitData] = {}

        def row_groups() -> Iterator[RowGroup]:
            while True:
                item = self._queue.get()
                if item is None:
                    raise _AbortedError
                if isinstance(item, ShardPlan):
                    plans.append(item)
                    return
                first = min(segment.unit for segment in item.segments)
                for unit in [unit for unit in units if unit < first]:  # done with these
                    del units[unit]
                yield row_group(self._context, item.segments, units)

        return _write(self._context, self.index, row_groups(), lambda: plans[0])


def finished_shard(context: JobContext, plan: ShardPlan) -> ShardRecord | None:
    """The record of shard `plan.index` if an earlier run wrote it and it verifies, else None."""
    layout = Layout(context.out)
    options = context.storage_options
    url = layout.shard(plan.index)
    try:
        body: dict[str, Any] = json.loads(
            read_bytes(layout.shard_record(plan.index), storage_options=options)
        )
        record = ShardRecord.from_dict(body)
        if int(body["documents"]) != plan.documents or record.row_group_rows != plan.row_groups:
            return None
        if not exists(url, storage_options=options):
            return None
        return record if checksum_file(url, storage_options=options) == record.checksum else None
    except (OSError, ValueError, KeyError, FormatError):  # damaged: write it again
        return None
