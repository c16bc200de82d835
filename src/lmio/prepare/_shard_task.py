"""Phase 2 writing: one planned shard assembled from unit files and written with the pinned writer."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from lmio.prepare._layout import Layout
from lmio.prepare._packing import ShardPlan
from lmio.prepare._settings import JobContext
from lmio.prepare._unit_files import read_unit_file
from lmio.store._files import exists, read_bytes, sha256_file, write_bytes_atomic
from lmio.store._shards import ShardRecord, write_shard

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["finished_shard", "write_planned_shard"]


def write_planned_shard(context: JobContext, plan: ShardPlan) -> ShardRecord:
    """Write shard `plan.index`, then its record in the work folder."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    layout = Layout(context.out)
    opened: dict[int, pa.Table] = {}
    pieces: list[pa.Table] = []
    sources: list[str] = []
    for segment in plan.segments:
        table = opened.get(segment.unit)
        if table is None:
            table = read_unit_file(layout.unit_tokens(segment.unit), context.storage_options)
            opened[segment.unit] = table
        piece = table.slice(segment.start, segment.stop - segment.start)
        pieces.append(piece)
        sources.append(segment.source)
    table = pa.concat_tables(pieces)
    names = sorted(set(sources))
    codes = [names.index(source) for source in sources]
    indices = np.repeat(np.array(codes, dtype=np.int32), [piece.num_rows for piece in pieces])
    source = pa.DictionaryArray.from_arrays(pa.array(indices), pa.array(names))
    table = table.append_column("source", source.cast(pa.string()))
    table = table.append_column(
        "n_tokens", pc.list_value_length(table.column("tokens")).cast(pa.uint32())
    )
    groups: list[pa.Table] = []
    offset = 0
    for rows in plan.row_groups:
        groups.append(table.slice(offset, rows))
        offset += rows
    record = write_shard(
        layout.shard(plan.index),
        groups,
        token_type=context.token_type,
        storage_options=context.storage_options,
    )
    body = {"documents": plan.documents, **record.to_dict()}
    write_bytes_atomic(
        layout.shard_record(plan.index),
        json.dumps(body, sort_keys=True).encode(),
        storage_options=context.storage_options,
    )
    return record


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
        return record if sha256_file(url, storage_options=options) == record.checksum else None
    except (OSError, ValueError, KeyError):
        return None
