"""lmio's own Parquet writer, for the shard schema only.

pyarrow writes a list column value by value: it builds a repetition and a definition level
for every token, encodes them one by one and grows its buffers as it goes, which cost more
than compressing the pages (most of `prepare`'s time after tokenizing). A shard's layout is
fixed, so this writer lays its pages out directly from numpy arrays:

- `tokens`: v1 data pages of whole rows, up to 1 MiB of values each (a longer row gets a
  page of its own); levels as RLE runs, one or two per row; values BYTE_STREAM_SPLIT.
- `doc_id`, `n_tokens`: PLAIN pages with min/max statistics in the footer.
- `source`: a PLAIN dictionary page and RLE_DICTIONARY indices.

Every page is zstd-compressed and carries a CRC-32 of its stored bytes. Each row group's
bytes and the footer's are contiguous; the writer records where each lies and its XXH3-128
(`ranges`), so that a reader can fetch and verify one row group without the whole file.
The footer holds the Arrow schema (as pyarrow stores it, so pyarrow reads back the shard
schema exactly) and `created_by` "lmio version X". Same rows, same bytes: nothing depends on the process, the
executor or the library versions beyond lmio's own.
"""

from __future__ import annotations

import base64
import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, Protocol

from lmio._version import __version__
from lmio.store._checksums import XXH3, new_hasher
from lmio.store._thrift import BINARY, BOOL, BYTE, I32, I64, LIST, STRUCT, Field, encode_struct

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["CREATED_BY_PREFIX", "WRITER_SETTINGS", "ParquetShardWriter", "RowGroup", "TokenType"]

TokenType = Literal["uint16", "uint32"]

MAGIC = b"PAR1"
CREATED_BY_PREFIX = "lmio version "  # the footer's created_by: lmio wrote the file
PAGE_BYTES = 1 << 20  # of values before compression
ZSTD_LEVEL = 1

# Parquet's enums (parquet.thrift).
_INT32, _INT64, _BYTE_ARRAY = 1, 2, 6
_REQUIRED, _REPEATED = 0, 2
_UTF8, _LIST, _UINT_16, _UINT_32, _UINT_64 = 0, 3, 12, 13, 14
_PLAIN, _RLE, _RLE_DICTIONARY, _BYTE_STREAM_SPLIT = 0, 3, 8, 9
_DATA_PAGE, _DICTIONARY_PAGE = 0, 2
_ZSTD = 6
_FORMAT_VERSION = 2  # 2.x: logical types, RLE_DICTIONARY, BYTE_STREAM_SPLIT

_LENGTH = struct.Struct("<I")

# Recorded in every manifest: how its shards were laid out.
WRITER_SETTINGS: dict[str, Any] = {
    "format_version": "2.6",
    "data_page_version": "1.0",
    "page_bytes": PAGE_BYTES,
    "compression": "zstd",
    "compression_level": ZSTD_LEVEL,
    "tokens_encoding": "BYTE_STREAM_SPLIT",
    "dictionary": ["source"],
    "statistics": ["doc_id", "n_tokens"],
    "page_checksums": "crc32",
}


class Sink(Protocol):
    def write(self, data: Any, /) -> Any: ...


@dataclass(frozen=True)
class RowGroup:
    """One row group's columns as numpy arrays: `tokens` flat (row i is the next
    `n_tokens[i]` values), `doc_id`, and `source` as codes into `source_names`."""

    tokens: npt.NDArray[np.unsignedinteger[Any]]
    n_tokens: npt.NDArray[np.uint32]
    doc_id: npt.NDArray[np.uint64]
    source_codes: npt.NDArray[np.int32]
    source_names: tuple[str, ...]

    @property
    def num_rows(self) -> int:
        return len(self.n_tokens)


@dataclass(frozen=True)
class _Chunk:
    """A column chunk written: what the footer says of it."""

    meta: list[Field]
    compressed: int
    uncompressed: int


class ParquetShardWriter:
    """Writes row groups to `sink` as they come; `close()` writes the footer. `sink` only
    needs `write`: the writer counts the offsets itself."""

    def __init__(self, sink: Sink, *, token_type: TokenType) -> None:
        self._sink = sink
        self._token_type: TokenType = token_type
        self._itemsize = 2 if token_type == "uint16" else 4
        self._codec = _zstd()
        self._row_groups: list[list[Field]] = []
        self._rows = 0
        self._position = 0
        self._hasher: Any = None  # of the range being written
        self.ranges: list[tuple[int, int, str]] = []  # row groups', then the footer's
        self._write(MAGIC)

    def write_row_group(self, group: RowGroup) -> None:
        import numpy as np

        if group.tokens.dtype.itemsize != self._itemsize or group.tokens.dtype.kind != "u":
            raise ValueError(f"tokens must be {self._token_type}, not {group.tokens.dtype}")
        counts = np.asarray(group.n_tokens, dtype=np.uint32)
        if int(counts.sum(dtype=np.uint64)) != len(group.tokens):
            raise ValueError(
                f"n_tokens add up to {int(counts.sum(dtype=np.uint64))}, but the row group "
                f"has {len(group.tokens)} tokens"
            )
        if not len(group.doc_id) == len(group.source_codes) == len(counts):
            raise ValueError("every column of a row group needs one value per row")
        start = self._position
        self._hasher = new_hasher(XXH3)
        chunks = [
            self._tokens(group.tokens, counts),
            self._plain(np.asarray(group.doc_id, dtype="<u8"), _INT64, ["doc_id"]),
            self._source(np.asarray(group.source_codes, dtype=np.int64), group.source_names),
            self._plain(counts.astype("<u4"), _INT32, ["n_tokens"]),
        ]
        self._row_groups.append(
            [
                (1, LIST, (STRUCT, [[(2, I64, 0), (3, STRUCT, c.meta)] for c in chunks])),
                (2, I64, sum(c.uncompressed for c in chunks)),
                (3, I64, group.num_rows),
                (5, I64, start),
                (6, I64, sum(c.compressed for c in chunks)),
            ]
        )
        self._rows += group.num_rows
        self._end_range(start)

    def close(self) -> None:
        """Write the footer: the schema, the row groups' metadata, the Arrow schema."""
        start = self._position
        self._hasher = new_hasher(XXH3)
        footer = encode_struct(
            [
                (1, I32, _FORMAT_VERSION),
                (2, LIST, (STRUCT, _schema_elements(self._token_type))),
                (3, I64, self._rows),
                (4, LIST, (STRUCT, self._row_groups)),
                (
                    5,
                    LIST,
                    (
                        STRUCT,
                        [
                            [
                                (1, BINARY, b"ARROW:schema"),
                                (2, BINARY, _arrow_schema(self._token_type)),
                            ]
                        ],
                    ),
                ),
                (6, BINARY, f"{CREATED_BY_PREFIX}{__version__}".encode()),
                (7, LIST, (STRUCT, [[(1, STRUCT, [])]] * 4)),  # TypeDefinedOrder everywhere
            ]
        )
        self._write(footer)
        self._write(_LENGTH.pack(len(footer)) + MAGIC)
        self._end_range(start)

    def _end_range(self, start: int) -> None:
        self.ranges.append((start, self._position - start, f"{XXH3}:{self._hasher.hexdigest()}"))
        self._hasher = None

    # ----- columns ------------------------------------------------------------------------

    def _tokens(self, tokens: npt.NDArray[Any], counts: npt.NDArray[np.uint32]) -> _Chunk:
        """Pages of whole rows: each row's repetition levels are a run of 0 (its first value,
        or its empty list) then a run of 1; definition levels are 1 for a value, 0 for an
        empty list."""
        import numpy as np

        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        repetition, row_starts = _repetition_levels(counts)
        per_page = PAGE_BYTES // 4
        pages: list[_Page] = []
        row = 0
        while row < len(counts) or not pages:
            end = int(np.searchsorted(offsets, offsets[row] + per_page, side="right")) - 1
            end = min(max(end, row + 1), len(counts))
            values = tokens[offsets[row] : offsets[end]]
            rep = repetition[row_starts[row] : row_starts[end]]
            definition = _definition_levels(counts[row:end])
            body = bytearray(8 + len(rep) + len(definition) + 4 * len(values))
            _LENGTH.pack_into(body, 0, len(rep))
            body[4 : 4 + len(rep)] = rep.data
            at = 4 + len(rep)
            _LENGTH.pack_into(body, at, len(definition))
            body[at + 4 : at + 4 + len(definition)] = definition
            at += 4 + len(definition)
            # BYTE_STREAM_SPLIT of int32 values: byte k of every value, for k = 0..3 (the
            # high streams of uint16 tokens stay zero). A shift cast to uint8 keeps byte k.
            streams = np.frombuffer(body, dtype=np.uint8, offset=at).reshape(4, len(values))
            for k in range(self._itemsize):
                np.right_shift(values, 8 * k, out=streams[k], casting="unsafe")
            num_values = len(values) + int(np.count_nonzero(counts[row:end] == 0))
            pages.append(self._data_page(body, num_values, _BYTE_STREAM_SPLIT))
            row = end
        return self._chunk(
            pages,
            _INT32,
            ["tokens", "list", "element"],
            num_values=len(tokens) + int(np.count_nonzero(counts == 0)),
            encodings=[_RLE, _BYTE_STREAM_SPLIT],
        )

    def _plain(self, values: npt.NDArray[Any], physical: int, path: list[str]) -> _Chunk:
        """A required top-level column: PLAIN pages (no levels), statistics in the footer."""
        per_page = max(PAGE_BYTES // values.dtype.itemsize, 1)
        pages = [
            self._data_page(
                values[at : at + per_page].tobytes(), len(values[at : at + per_page]), _PLAIN
            )
            for at in range(0, max(len(values), 1), per_page)
        ]
        statistics = None
        if len(values):
            statistics = [
                (3, I64, 0),  # null count
                (5, BINARY, values.max().tobytes()),
                (6, BINARY, values.min().tobytes()),
                (7, BOOL, True),
                (8, BOOL, True),
            ]
        return self._chunk(
            pages,
            physical,
            path,
            num_values=len(values),
            encodings=[_RLE, _PLAIN],
            statistics=statistics,
        )

    def _source(self, codes: npt.NDArray[np.int64], names: tuple[str, ...]) -> _Chunk:
        """The names used, in first-use order, as a dictionary; the rows as indices into it."""
        import numpy as np

        used, first = np.unique(codes, return_index=True)
        order = used[np.argsort(first, kind="stable")]
        remap = np.zeros(max(len(names), 1), dtype=np.int64)
        remap[order] = np.arange(len(order))
        indices = remap[codes]
        dictionary = bytearray()
        for code in order.tolist():
            encoded = names[code].encode()
            dictionary += _LENGTH.pack(len(encoded)) + encoded
        width = max(int(len(order) - 1).bit_length(), 1)
        data = bytes([width]) + _hybrid_runs(indices, np.ones(len(indices), dtype=np.int64), width)
        pages = [
            self._page(bytes(dictionary), _DICTIONARY_PAGE, len(order), _PLAIN),
            self._data_page(data, len(codes), _RLE_DICTIONARY),
        ]
        return self._chunk(
            pages,
            _BYTE_ARRAY,
            ["source"],
            num_values=len(codes),
            encodings=[_PLAIN, _RLE, _RLE_DICTIONARY],
            dictionary=True,
        )

    # ----- pages --------------------------------------------------------------------------

    def _data_page(self, body: bytes | bytearray, num_values: int, encoding: int) -> _Page:
        return self._page(body, _DATA_PAGE, num_values, encoding)

    def _page(self, body: bytes | bytearray, kind: int, num_values: int, encoding: int) -> _Page:
        stored = self._codec.compress(body)
        crc = zlib.crc32(stored)
        if kind == _DATA_PAGE:  # v1: levels RLE-encoded
            detail: Field = (
                5,
                STRUCT,
                [(1, I32, num_values), (2, I32, encoding), (3, I32, _RLE), (4, I32, _RLE)],
            )
        else:
            detail = (7, STRUCT, [(1, I32, num_values), (2, I32, encoding)])
        header = encode_struct(
            [
                (1, I32, kind),
                (2, I32, len(body)),
                (3, I32, len(stored)),
                (4, I32, crc - (1 << 32) if crc >= 1 << 31 else crc),  # an i32 in the header
                detail,
            ]
        )
        offset = self._position
        self._write(header)
        self._write(stored)
        return _Page(offset, len(header) + len(body), len(header) + len(stored), kind, encoding)

    def _chunk(
        self,
        pages: list[_Page],
        physical: int,
        path: list[str],
        *,
        num_values: int,
        encodings: list[int],
        statistics: list[Field] | None = None,
        dictionary: bool = False,
    ) -> _Chunk:
        data_pages = [page for page in pages if page.kind == _DATA_PAGE]
        counts: dict[tuple[int, int], int] = {}
        for page in pages:
            counts[page.kind, page.encoding] = counts.get((page.kind, page.encoding), 0) + 1
        compressed = sum(page.stored for page in pages)
        uncompressed = sum(page.plain for page in pages)
        meta: list[Field] = [
            (1, I32, physical),
            (2, LIST, (I32, encodings)),
            (3, LIST, (BINARY, [name.encode() for name in path])),
            (4, I32, _ZSTD),
            (5, I64, num_values),
            (6, I64, uncompressed),
            (7, I64, compressed),
            (9, I64, data_pages[0].offset),
            (11, I64, pages[0].offset if dictionary else None),
            (12, STRUCT, statistics),
            (
                13,
                LIST,
                (
                    STRUCT,
                    [
                        [(1, I32, kind), (2, I32, encoding), (3, I32, count)]
                        for (kind, encoding), count in counts.items()
                    ],
                ),
            ),
        ]
        return _Chunk(meta, compressed, uncompressed)

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        self._sink.write(data)
        if self._hasher is not None:
            self._hasher.update(data)
        self._position += len(data)


@dataclass(frozen=True)
class _Page:
    offset: int
    plain: int  # header and body before compression
    stored: int  # header and body as written
    kind: int
    encoding: int


def _repetition_levels(
    counts: npt.NDArray[np.uint32],
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """The repetition levels of rows of `counts` values, encoded row by row (runs never
    span rows, so any range of rows is a slice): the bytes, and where each row's start."""
    import numpy as np

    wide = counts.astype(np.int64)
    values = np.tile(np.array([0, 1], dtype=np.int64), len(counts))
    lengths = np.empty(2 * len(counts), dtype=np.int64)
    lengths[0::2] = 1
    lengths[1::2] = wide - 1
    keep = lengths > 0
    encoded, run_ends = _rle_runs(values[keep], lengths[keep], 1)
    row_ends = np.cumsum(1 + (wide > 1))  # runs kept per row: one, or two
    row_starts = np.zeros(len(counts) + 1, dtype=np.int64)
    if len(counts):
        row_starts[1:] = run_ends[row_ends - 1]
    return encoded, row_starts


def _definition_levels(counts: npt.NDArray[np.uint32]) -> bytes:
    """1 for each value, 0 for an empty list: one run unless a list is empty."""
    import numpy as np

    wide = counts.astype(np.int64)
    if len(wide) and wide.min() > 0:
        return _rle_runs(np.ones(1, dtype=np.int64), wide.sum(keepdims=True), 1)[0].tobytes()
    return _hybrid_runs((wide > 0).astype(np.int64), np.maximum(wide, 1), 1)


def _hybrid_runs(
    values: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64], bit_width: int
) -> bytes:
    """`lengths[i]` copies of `values[i]` in the RLE/bit-packing hybrid encoding, as RLE
    runs only: adjacent equal values merge into one run, empty runs vanish."""
    import numpy as np

    keep = lengths > 0
    values, lengths = values[keep], lengths[keep]
    if not len(values):
        return b""
    starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
    return _rle_runs(values[starts], np.add.reduceat(lengths, starts), bit_width)[0].tobytes()


def _rle_runs(
    values: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64], bit_width: int
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """RLE runs of the hybrid encoding, one per (value, length > 0), and where each ends. A
    run is its length shifted left by one (the low bit 0 marks RLE) as a ULEB128 varint,
    then the value in ceil(bit_width / 8) little-endian bytes."""
    import numpy as np

    header = lengths << 1
    header_bytes = np.ones(len(header), dtype=np.int64)
    for k in range(1, 10):
        header_bytes += header >= (1 << (7 * k))
    value_bytes = (bit_width + 7) // 8
    ends = np.cumsum(header_bytes + value_bytes)
    starts = ends - header_bytes - value_bytes
    out = np.zeros(int(ends[-1]) if len(ends) else 0, dtype=np.uint8)
    for k in range(int(header_bytes.max()) if len(header) else 0):
        has = header_bytes > k
        more = (header_bytes[has] > k + 1).astype(np.int64) << 7
        out[starts[has] + k] = ((header[has] >> (7 * k)) & 0x7F) | more
    for k in range(value_bytes):
        out[starts + header_bytes + k] = (values >> (8 * k)) & 0xFF
    return out, ends


def _schema_elements(token_type: TokenType) -> list[list[Field]]:
    """The shard schema as Parquet schema elements, as pyarrow writes it."""
    item_converted, item_bits = (_UINT_16, 16) if token_type == "uint16" else (_UINT_32, 32)

    def integer(bits: int) -> Field:
        return (10, STRUCT, [(10, STRUCT, [(1, BYTE, bits), (2, BOOL, False)])])

    return [
        [(3, I32, _REQUIRED), (4, BINARY, b"schema"), (5, I32, 4)],
        [
            (3, I32, _REQUIRED),
            (4, BINARY, b"tokens"),
            (5, I32, 1),
            (6, I32, _LIST),
            (10, STRUCT, [(3, STRUCT, [])]),
        ],
        [(3, I32, _REPEATED), (4, BINARY, b"list"), (5, I32, 1)],
        [
            (1, I32, _INT32),
            (3, I32, _REQUIRED),
            (4, BINARY, b"element"),
            (6, I32, item_converted),
            integer(item_bits),
        ],
        [
            (1, I32, _INT64),
            (3, I32, _REQUIRED),
            (4, BINARY, b"doc_id"),
            (6, I32, _UINT_64),
            integer(64),
        ],
        [
            (1, I32, _BYTE_ARRAY),
            (3, I32, _REQUIRED),
            (4, BINARY, b"source"),
            (6, I32, _UTF8),
            (10, STRUCT, [(1, STRUCT, [])]),
        ],
        [
            (1, I32, _INT32),
            (3, I32, _REQUIRED),
            (4, BINARY, b"n_tokens"),
            (6, I32, _UINT_32),
            integer(32),
        ],
    ]


@lru_cache(maxsize=2)
def _arrow_schema(token_type: TokenType) -> bytes:
    """The shard schema in Arrow's IPC encoding, base64, as pyarrow stores it in a footer."""
    from lmio.store._shards import shard_schema

    return base64.b64encode(shard_schema(token_type).serialize().to_pybytes())


def _zstd() -> Any:
    import pyarrow as pa

    return pa.Codec("zstd", compression_level=ZSTD_LEVEL)
