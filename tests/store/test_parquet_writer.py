"""lmio's own Parquet writer: what pyarrow and DuckDB read back is exactly what was written,
in every corner of the layout (empty lists, long rows, wide dictionaries, uint32)."""

from __future__ import annotations

import itertools
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lmio.errors import InvalidArgumentError
from lmio.store._parquet_writer import PAGE_BYTES, RowGroup
from lmio.store._shards import ShardReader, shard_schema, write_shard
from lmio.store._thrift import BINARY, BOOL, I32, I64, LIST, STRUCT, encode_struct
from lmio.store._token_pages import read_compact_struct


def _group(
    rows: list[list[int]], token_type: str, sources: list[str], first_id: int = 0
) -> RowGroup:
    names = sorted(set(sources))
    return RowGroup(
        tokens=np.array([t for row in rows for t in row], dtype=token_type),
        n_tokens=np.array([len(row) for row in rows], dtype=np.uint32),
        doc_id=np.arange(first_id, first_id + len(rows), dtype=np.uint64),
        source_codes=np.array([names.index(s) for s in sources], dtype=np.int32),
        source_names=tuple(names),
    )


def _expected(groups: list[tuple[list[list[int]], list[str], int]]) -> list[dict[str, object]]:
    return [
        {"tokens": row, "doc_id": first + i, "source": source, "n_tokens": len(row)}
        for rows, sources, first in groups
        for i, (row, source) in enumerate(zip(rows, sources, strict=True))
    ]


@pytest.mark.parametrize("token_type", ["uint16", "uint32"])
def test_pyarrow_and_duckdb_read_back_every_corner(tmp_path: Path, token_type: str) -> None:
    rng = np.random.default_rng(7)
    high = 1 << 16 if token_type == "uint16" else 1 << 32
    per_page = PAGE_BYTES // 4
    groups = [
        # short rows, one-token rows, empty rows side by side
        ([[1, 2, 3], [], [4], [5], [], [], [high - 1, 0]], ["a", "b", "b", "a", "c", "a", "b"], 0),
        # a row longer than a page, and rows that fill pages exactly
        (
            [
                rng.integers(0, high, per_page + 17).tolist(),
                rng.integers(0, high, per_page).tolist(),
                rng.integers(0, high, 200).tolist(),
            ],
            ["x"] * 3,
            100,
        ),
        # more sources than 8 bits of dictionary index, with repeats in runs
        (
            [rng.integers(0, high, int(n)).tolist() for n in rng.integers(1, 40, 700)],
            [f"source-{i // 2:03d}" for i in range(700)],
            1 << 63,
        ),
        ([], [], 5),  # an empty row group
    ]
    path = tmp_path / "s.parquet"
    record = write_shard(
        str(path),
        [_group(rows, token_type, sources, first) for rows, sources, first in groups],
        token_type=token_type,  # type: ignore[arg-type]
    )
    expected = _expected(groups)
    assert record.rows == len(expected)
    assert record.row_group_rows == (7, 3, 700, 0)
    file = pq.ParquetFile(path)
    assert file.schema_arrow == shard_schema(token_type)  # type: ignore[arg-type]
    assert file.read().to_pylist() == expected
    rows = duckdb.sql(f"select tokens, doc_id, source, n_tokens from '{path}'").fetchall()
    assert [list(row) for row in rows] == [list(e.values()) for e in expected]
    with ShardReader(str(path)) as reader:
        for index, (rows_in, _, _) in enumerate(groups):
            values, offsets = reader.read_tokens(index)
            assert values.tolist() == [t for row in rows_in for t in row]
            assert np.diff(offsets).tolist() == [len(row) for row in rows_in]


def test_statistics_and_page_checksums(tmp_path: Path) -> None:
    path = tmp_path / "s.parquet"
    group = _group([[1], [2, 3], [4, 5, 6]], "uint16", ["a", "a", "b"], first_id=(1 << 63) + 3)
    write_shard(str(path), [group], token_type="uint16")
    meta = pq.ParquetFile(path).metadata
    doc_id, n_tokens = (
        meta.row_group(0).column(1).statistics,
        meta.row_group(0).column(3).statistics,
    )
    assert (doc_id.min, doc_id.max) == ((1 << 63) + 3, (1 << 63) + 5)  # unsigned order
    assert (n_tokens.min, n_tokens.max, n_tokens.null_count) == (1, 3, 0)
    assert meta.created_by.startswith("lmio version ")
    data = memoryview(path.read_bytes()).cast("B")
    for column in range(4):  # every page header records a CRC-32
        chunk = meta.row_group(0).column(column)
        start = chunk.dictionary_page_offset or chunk.data_page_offset
        header, _ = read_compact_struct(data, start)
        assert isinstance(header.get(4), int)
    # pyarrow checks them when asked: a flipped byte in a page is an error, not wrong data.
    damaged = bytearray(path.read_bytes())
    chunk = meta.row_group(0).column(3)
    damaged[chunk.data_page_offset + chunk.total_compressed_size - 3] ^= 0xFF
    path.write_bytes(bytes(damaged))
    with pytest.raises(OSError, match="CRC"):
        pq.read_table(path, columns=["n_tokens"], page_checksum_verification=True)


def test_same_rows_same_bytes_from_tables_or_arrays(tmp_path: Path) -> None:
    rows, sources = [[5, 6], [7], [8, 9, 10]], ["b", "a", "b"]
    table = pa.table(
        {
            "tokens": pa.array(rows, pa.list_(pa.uint16())),
            "doc_id": pa.array([0, 1, 2], pa.uint64()),
            "source": sources,
            "n_tokens": pa.array([2, 1, 3], pa.uint32()),
        }
    )
    a = write_shard(str(tmp_path / "a.parquet"), [table], token_type="uint16")
    b = write_shard(
        str(tmp_path / "b.parquet"), [_group(rows, "uint16", sources)], token_type="uint16"
    )
    assert a.checksum == b.checksum


def test_ranges_cover_the_file_with_their_own_checksums(tmp_path: Path) -> None:
    """Row groups then the footer, back to back to the end; each range's XXH3-128 is
    xxhash's, and the whole file's sha256 is hashlib's."""
    import hashlib

    import xxhash

    url = tmp_path / "s.parquet"
    groups = [_group([[1, 2, 3], [4]], "uint16", ["a", "b"]), _group([[5] * 5000], "uint16", ["a"])]
    record = write_shard(str(url), groups, token_type="uint16")
    data = url.read_bytes()
    assert record.checksum == "sha256:" + hashlib.sha256(data).hexdigest()
    assert record.ranges is not None
    spans = [*record.ranges.row_groups, record.ranges.footer]
    assert spans[0].offset == 4 and spans[-1].offset + spans[-1].length == len(data)
    assert all(a.offset + a.length == b.offset for a, b in itertools.pairwise(spans))
    for span in spans:
        piece = data[span.offset : span.offset + span.length]
        assert span.checksum == "xxh3-128:" + xxhash.xxh3_128_hexdigest(piece)


def test_counts_must_match_the_lists(tmp_path: Path) -> None:
    table = pa.table(
        {
            "tokens": pa.array([[1, 2], [3]], pa.list_(pa.uint16())),
            "doc_id": pa.array([0, 1], pa.uint64()),
            "source": ["a", "a"],
            "n_tokens": pa.array([1, 2], pa.uint32()),  # same total, other rows
        }
    )
    with pytest.raises(InvalidArgumentError, match="n_tokens must equal"):
        write_shard(str(tmp_path / "s.parquet"), [table], token_type="uint16")
    group = RowGroup(
        tokens=np.arange(3, dtype=np.uint16),
        n_tokens=np.array([1, 1], dtype=np.uint32),
        doc_id=np.arange(2, dtype=np.uint64),
        source_codes=np.zeros(2, dtype=np.int32),
        source_names=("a",),
    )
    with pytest.raises(ValueError, match="n_tokens add up to 2, but the row group has 3"):
        write_shard(str(tmp_path / "t.parquet"), [group], token_type="uint16")
    assert not (tmp_path / "t.parquet").exists()  # nothing half-written is left


def test_thrift_encoding_reads_back() -> None:
    data = encode_struct(
        [
            (1, I32, -3),
            (2, I64, 1 << 40),
            (3, BOOL, True),
            (4, BOOL, False),
            (5, BINARY, b"skipped by the reader"),
            (6, STRUCT, [(1, I32, 7), (20, I64, -(1 << 62))]),  # a long jump in field ids
            (7, LIST, (I32, list(range(20)))),  # a list longer than 14
            (8, I32, None),  # left out
            (9, STRUCT, []),
        ]
    )
    fields, end = read_compact_struct(memoryview(data), 0)
    assert end == len(data)
    assert fields == {1: -3, 2: 1 << 40, 3: True, 4: False, 6: {1: 7, 20: -(1 << 62)}, 9: {}}
    with pytest.raises(ValueError, match="must increase"):
        encode_struct([(2, I32, 1), (1, I32, 1)])
