"""The page decoder of a shard's tokens equals pyarrow on every layout it reads, and hands
every other layout back to pyarrow."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lmio.errors import IntegrityError
from lmio.store._shards import ShardReader, shard_schema, write_shard
from lmio.store._token_pages import (
    PageChecksumError,
    TokenPages,
    read_compact_struct,
    token_pages,
)


def _documents(seed: int, count: int, high: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, high, rng.integers(1, 300)) for _ in range(count)]


# The shard layout as pyarrow writes it (foreign shards, and lmio's before its own writer).
PYARROW_OPTIONS: dict[str, Any] = {
    "version": "2.6",
    "compression": "zstd",
    "compression_level": 1,
    "use_dictionary": ["source"],
    "write_statistics": ["doc_id", "n_tokens"],
    "data_page_size": 1 << 20,
    "data_page_version": "1.0",
    "use_byte_stream_split": ["tokens.list.element"],
    "store_schema": True,
    "write_page_checksum": True,
}


def _write(path: Path, groups: list[list[np.ndarray]], token_type: str, **options: Any) -> None:
    """With lmio's writer (`lmio=True`), else with pyarrow's and these options."""
    schema = shard_schema(token_type)
    tables = [
        pa.table(
            {
                "tokens": pa.array([d.tolist() for d in docs], schema.field("tokens").type),
                "doc_id": pa.array(range(len(docs)), pa.uint64()),
                "source": pa.array(["a"] * len(docs), pa.string()),
                "n_tokens": pa.array([len(d) for d in docs], pa.uint32()),
            },
            schema=schema,
        )
        for docs in groups
    ]
    if options.pop("lmio", False):
        write_shard(str(path), tables, token_type=token_type)  # type: ignore[arg-type]
        return
    with pq.ParquetWriter(path, schema, **{**PYARROW_OPTIONS, **options}) as writer:
        for table in tables:
            writer.write_table(table, row_group_size=max(table.num_rows, 1))


def _pyarrow_tokens(path: Path, group: int) -> tuple[list[int], list[int]]:
    column = pq.ParquetFile(path).read_row_group(group, columns=["tokens"]).column(0)
    array = column.combine_chunks()
    return array.values.to_pylist(), array.offsets.to_pylist()


LAYOUTS = {
    "lmio's shard writer": {"lmio": True},
    "pyarrow, the shard layout (zstd, byte stream split)": {},
    "plain encoding": {"use_byte_stream_split": False},
    "uncompressed": {"compression": "none", "compression_level": None},
    "many small pages": {"data_page_size": 512, "write_batch_size": 64},
    # These the decoder hands back to pyarrow (FALLBACK).
    "dictionary pages": {"use_dictionary": True},
    "v2 data pages": {"data_page_version": "2.0"},
    "snappy": {"compression": "snappy", "compression_level": None},
}
FALLBACK = {"dictionary pages", "v2 data pages", "snappy"}


@pytest.mark.parametrize("token_type", ["uint16", "uint32"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_read_tokens_equals_pyarrow(tmp_path: Path, token_type: str, layout: str) -> None:
    high = 65_536 if token_type == "uint16" else 1 << 32
    long = [np.arange(70_000) % high, *_documents(5, 3, high)]  # rows across many pages
    groups = [_documents(1, 40, high), _documents(2, 1, high), _documents(3, 120, high), long]
    path = tmp_path / "s.parquet"
    _write(path, groups, token_type, **LAYOUTS[layout])
    with ShardReader(str(path), trusted_counts=True) as reader:
        for group in range(len(groups)):
            values, offsets = reader.read_tokens(group)
            expected_values, expected_offsets = _pyarrow_tokens(path, group)
            assert values.dtype == np.dtype(token_type)
            assert values.tolist() == expected_values
            assert offsets.tolist() == expected_offsets
            decoded = reader._read_token_pages(group)  # the page decoder, or None: pyarrow
            assert (decoded is None) == (layout in FALLBACK)


def test_the_decoder_reads_the_shard_layout_and_declines_others(tmp_path: Path) -> None:
    docs = [_documents(4, 30, 1000)]
    _write(tmp_path / "a.parquet", docs, "uint16")
    file = pq.ParquetFile(tmp_path / "a.parquet")
    pages = token_pages(file)
    assert pages is not None and pages.itemsize == 2
    chunk = file.metadata.row_group(0).column(pages.column)
    data = memoryview((tmp_path / "a.parquet").read_bytes()).cast("B")
    start = chunk.data_page_offset
    body = data[start : start + chunk.total_compressed_size]
    values = pages.decode(body, num_values=chunk.num_values)
    assert values is not None and values.tolist() == np.concatenate(docs[0]).tolist()
    assert pages.decode(body, num_values=chunk.num_values + 1) is None
    assert pages.decode(body, num_values=-1) is None
    assert pages.decode(body[:-5], num_values=chunk.num_values) is None  # a page cut short
    damaged = bytearray(body)
    damaged[len(damaged) // 2] ^= 0xFF
    with pytest.raises(PageChecksumError):  # a changed byte fails its CRC: damage, not layout
        pages.decode(memoryview(bytes(damaged)), num_values=chunk.num_values)
    # A list of nullable elements has another definition level: pyarrow reads it.
    pq.write_table(pa.table({"tokens": [[1, None]], "n_tokens": [2]}), tmp_path / "b.parquet")
    assert token_pages(pq.ParquetFile(tmp_path / "b.parquet")) is None


def test_compact_struct_reader() -> None:
    # {1: i32 0, 2: i32 -3, 3: struct {1: true}, 5: binary "xy" (skipped), 20: i64 150}
    data = bytes([0x15, 0x00, 0x15, 0x05, 0x1C, 0x11, 0x00, 0x28, 0x02]) + b"xy"
    data += bytes([0x06, 0x28, 0xAC, 0x02, 0x00])
    fields, end = read_compact_struct(memoryview(data), 0)
    assert fields == {1: 0, 2: -3, 3: {1: True}, 20: 150}
    assert end == len(data)


def test_other_writers_rows_follow_their_lists_not_n_tokens(tmp_path: Path) -> None:
    """A Parquet file lmio did not write may hold an `n_tokens` that disagrees with its lists
    (here with the same sum): read as pyarrow reads it, by the lists. lmio's own shards, and
    any a caller vouches for, take the page decoder."""
    path = tmp_path / "foreign.parquet"
    schema = shard_schema("uint16")
    table = pa.table(
        {
            "tokens": pa.array([[1], [2, 3]], schema.field("tokens").type),
            "doc_id": pa.array([0, 1], pa.uint64()),
            "source": pa.array(["a", "a"], pa.string()),
            "n_tokens": pa.array([2, 1], pa.uint32()),
        },
        schema=schema,
    )
    pq.write_table(table, path, **PYARROW_OPTIONS)
    with ShardReader(str(path)) as reader:
        values, offsets = reader.read_tokens(0)
    assert (values.tolist(), offsets.tolist()) == ([1, 2, 3], [0, 1, 3])
    with ShardReader(str(path), trusted_counts=True) as reader:
        assert reader._read_token_pages(0) is not None
    docs = [_documents(2, 3, 1000)]
    _write(tmp_path / "lmio.parquet", docs, "uint16", lmio=True)
    with ShardReader(str(tmp_path / "lmio.parquet")) as reader:
        assert reader._read_token_pages(0) is not None


def test_an_empty_document_is_left_to_pyarrow(tmp_path: Path) -> None:
    docs = [np.arange(5), np.arange(0), np.arange(3)]
    _write(tmp_path / "s.parquet", [docs], "uint16")
    with ShardReader(str(tmp_path / "s.parquet"), trusted_counts=True) as reader:
        values, offsets = reader.read_tokens(0)
        assert reader._read_token_pages(0) is None  # a level without a value: pyarrow's job
    assert values.tolist() == [0, 1, 2, 3, 4, 0, 1, 2]
    assert offsets.tolist() == [0, 5, 5, 8]


def _damage_tokens(path: Path) -> None:
    """Flip a byte in the middle of row group 0's first tokens page."""
    chunk = pq.ParquetFile(path).metadata.row_group(0).column(0)
    data = bytearray(path.read_bytes())
    data[chunk.data_page_offset + chunk.total_compressed_size // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_damaged_page_is_read_again_then_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "s.parquet"
    docs = _documents(6, 50, 1000)
    _write(path, [docs], "uint16")
    good = path.read_bytes()
    _damage_tokens(path)
    with (
        ShardReader(str(path), trusted_counts=True) as reader,
        pytest.raises(IntegrityError) as error,
    ):
        reader.read_tokens(0)
    assert str(path) in str(error.value) and "row group 0" in str(error.value)
    assert "fail the checksum" in str(error.value) and "twice" in str(error.value)
    # Damaged on the way once (the second read is good): read again, with a warning.
    path.write_bytes(good)
    with ShardReader(str(path), trusted_counts=True) as reader:
        reads = iter([_damaged(reader, 0), None])
        original = reader._read_range

        def flaky(start: int, size: int) -> memoryview:
            bad = next(reads)
            return bad if bad is not None else original(start, size)

        reader._read_range = flaky  # type: ignore[method-assign]
        with caplog.at_level("WARNING", logger="lmio.store"):
            values, _ = reader.read_tokens(0)
    assert values.tolist() == np.concatenate(docs).tolist()
    assert "failed a page checksum; reading it again" in caplog.text


def _damaged(reader: ShardReader, group: int) -> memoryview:
    chunk = reader._file.metadata.row_group(group).column(0)
    data = bytearray(reader._read_range(chunk.data_page_offset, chunk.total_compressed_size))
    data[len(data) // 2] ^= 0xFF
    return memoryview(bytes(data))


def test_shards_carry_page_checksums(tmp_path: Path) -> None:
    _write(tmp_path / "s.parquet", [_documents(7, 5, 1000)], "uint16")
    chunk = pq.ParquetFile(tmp_path / "s.parquet").metadata.row_group(0).column(0)
    data = memoryview((tmp_path / "s.parquet").read_bytes()).cast("B")
    header, _ = read_compact_struct(data, chunk.data_page_offset)
    assert isinstance(header.get(4), int)  # the CRC-32 field of the page header


def test_a_damaged_page_that_pyarrow_reads_is_named(tmp_path: Path) -> None:
    path = tmp_path / "s.parquet"
    _write(path, [_documents(8, 50, 1000)], "uint16")
    chunk = pq.ParquetFile(path).metadata.row_group(0).column(3)  # n_tokens
    data = bytearray(path.read_bytes())
    data[chunk.data_page_offset + chunk.total_compressed_size // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with (
        ShardReader(str(path), trusted_counts=True) as reader,
        pytest.raises(IntegrityError) as error,
    ):
        reader.read_tokens(0)
    assert f"{path} is damaged: row group 0 (n_tokens)" in str(error.value)


def test_a_damaged_header_falls_back_instead_of_hanging() -> None:
    # A page header whose list claims 2**40 one-byte elements: refused, not walked.
    header = bytes([0x15, 0x00, 0x19, 0xF1]) + bytes([0x80, 0x80, 0x80, 0x80, 0x80, 0x20]) + b"\x00"
    pages = TokenPages(0, 2)
    assert pages.decode(memoryview(header), num_values=4) is None


class _FlakyRaw(io.RawIOBase):
    """A file whose first read comes back with one byte changed (damage in transit)."""

    def __init__(self, data: bytes) -> None:
        self._data, self._pos, self.reads = data, 0, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._data)}[whence]
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        chunk = bytearray(self._data[self._pos : self._pos + len(buffer)])
        if not self.reads and chunk:
            chunk[len(chunk) // 2] ^= 0xFF
        self.reads += 1
        buffer[: len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)


def test_a_buffered_remote_stream_fetches_a_damaged_chunk_anew(tmp_path: Path) -> None:
    path = tmp_path / "s.parquet"
    docs = _documents(9, 20, 1000)  # a tokens chunk smaller than the stream's buffer
    _write(path, [docs], "uint16")
    raw = _FlakyRaw(path.read_bytes())
    with ShardReader(str(path), trusted_counts=True) as reader:
        reader._source = io.BufferedReader(raw, buffer_size=64 << 10)
        values, _ = reader.read_tokens(0)
    assert values.tolist() == np.concatenate(docs).tolist()
    assert raw.reads >= 2  # the second try went to the source, not to the buffer
