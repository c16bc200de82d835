"""The `tokens` column of a shard decoded page by page, without Arrow's list machinery.

pyarrow decodes a list column value by value through its repetition and definition levels
(and grows its buffers as it goes), which costs more than decompressing the pages. A shard's
`tokens` leaf is required in a required list (maximum levels 1 and 1), so every value in a
page is present: the values are simply the bytes after the two level sections. This reads
each v1 data page header (Thrift compact protocol), decompresses the page, skips the levels
by their length prefixes and takes the values (PLAIN or BYTE_STREAM_SPLIT) straight into one
array. A page whose header records a CRC-32 is checked against it (`PageChecksumError`).
Anything else (a dictionary page, a v2 page, another codec or encoding, counts that do not
add up) returns None and the caller reads the row group with pyarrow instead.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lmio.store._thrift import (
    BINARY,
    BOOL_FALSE,
    BOOL_TRUE,
    BYTE,
    DOUBLE,
    I16,
    I32,
    I64,
    LIST,
    SET,
    STRUCT,
)

if TYPE_CHECKING:
    import numpy as np
    import pyarrow.parquet as pq

__all__ = ["PageChecksumError", "TokenPages", "read_compact_struct", "token_pages"]

_DATA_PAGE = 0
_PLAIN = 0
_RLE = 3
_BYTE_STREAM_SPLIT = 9
_LENGTH = struct.Struct("<I")
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_MAX_PAGE_BYTES = 1 << 31  # Parquet's sizes are i32


class _UnreadablePageError(Exception):
    """A page header or page that is not what this decoder reads (the caller falls back)."""


class PageChecksumError(Exception):
    """A page whose bytes do not match the CRC-32 its header records: damaged, not merely
    unfamiliar (the caller reads it again, then reports it)."""


@dataclass(frozen=True)
class TokenPages:
    """How to read one shard's `tokens` leaf: its column index and value width."""

    column: int
    itemsize: int  # 2 for uint16 tokens, 4 for uint32

    def decode(
        self, chunk: memoryview, *, num_values: int, check_crc: bool = True
    ) -> np.ndarray | None:
        """The values of one column chunk (its bytes from the first page header on), or None
        when one of its pages is not one this decoder reads. Pages are zstd frames (told by
        their magic number) or stored as they are; the footer's codec is not consulted
        (pyarrow aborts the process on an unknown codec value). `check_crc=False` skips the
        pages' CRC-32s (for bytes verified another way)."""
        import numpy as np

        if not 0 <= num_values <= _MAX_PAGE_BYTES:
            return None
        try:
            out = np.empty(num_values, dtype="<u2" if self.itemsize == 2 else "<u4")  # as stored
            filled = self._fill(chunk, out, check_crc)
        except (
            _UnreadablePageError,
            IndexError,
            ValueError,
            OSError,
            MemoryError,
            RecursionError,
            struct.error,
        ):
            return None  # pyarrow reads it, and names what is wrong if it is damaged
        return out if filled == num_values else None

    def _fill(self, chunk: memoryview, out: np.ndarray, check_crc: bool) -> int:
        import numpy as np
        import pyarrow as pa

        zstd = pa.Codec("zstd")

        as_bytes = out.view(np.uint8).reshape(-1, self.itemsize)
        position = filled = 0
        while position < len(chunk):
            header, position = read_compact_struct(chunk, position)
            page_type, size, compressed = header.get(1), header.get(2), header.get(3)
            data = header.get(5)
            if page_type != _DATA_PAGE or not isinstance(data, dict):
                raise _UnreadablePageError(f"page type {page_type}")
            if not isinstance(size, int) or not isinstance(compressed, int):
                raise _UnreadablePageError("page sizes")
            if not (0 <= size <= _MAX_PAGE_BYTES and 0 <= compressed <= len(chunk) - position):
                raise _UnreadablePageError("page sizes")
            if data.get(3) != _RLE or data.get(4) != _RLE:
                raise _UnreadablePageError("level encoding")
            body = chunk[position : position + compressed]
            position += compressed
            crc = header.get(4)  # of the page as stored, when the writer recorded one
            if check_crc and isinstance(crc, int) and zlib.crc32(body) != crc & 0xFFFFFFFF:
                raise PageChecksumError(f"page at byte {position - compressed} of the chunk")
            if bytes(body[:4]) == _ZSTD_MAGIC:
                page = memoryview(zstd.decompress(body, decompressed_size=size)).cast("B")
            elif compressed == size:  # stored as it is
                page = body
            else:  # another codec: pyarrow's job
                raise _UnreadablePageError("codec")
            if len(page) != size:
                raise _UnreadablePageError("page size")
            start = _skip_levels(page, _skip_levels(page, 0))  # repetition, then definition
            count = data.get(1)
            values = np.frombuffer(page, dtype=np.uint8, offset=start)
            if not isinstance(count, int) or len(values) != 4 * count:
                raise _UnreadablePageError("value count")
            if filled + count > len(out):
                raise _UnreadablePageError("more values than the row group holds")
            target = as_bytes[filled : filled + count]
            encoding = data.get(2)
            if encoding == _BYTE_STREAM_SPLIT:  # byte k of every value, then byte k + 1, ...
                streams = values.reshape(4, count)
                for k in range(self.itemsize):
                    target[:, k] = streams[k]
            elif encoding == _PLAIN:  # little-endian int32 values
                target[:] = values.reshape(count, 4)[:, : self.itemsize]
            else:
                raise _UnreadablePageError(f"encoding {encoding}")
            filled += count
        return filled


def token_pages(file: pq.ParquetFile) -> TokenPages | None:
    """The page reader for a shard's `tokens` leaf, or None if its layout is not the one it
    reads (the caller then reads with pyarrow)."""
    import pyarrow as pa

    schema = file.schema
    found = [i for i in range(len(schema)) if schema.column(i).path == "tokens.list.element"]
    if not found:
        return None
    column = schema.column(found[0])
    arrow = file.schema_arrow
    tokens = arrow.field("tokens").type
    if (
        column.max_repetition_level != 1
        or column.max_definition_level != 1
        or column.physical_type != "INT32"
        or not pa.types.is_list(tokens)
        or tokens.value_type not in (pa.uint16(), pa.uint32())
        or "n_tokens" not in arrow.names
    ):
        return None
    return TokenPages(found[0], tokens.value_type.bit_width // 8)


def _skip_levels(page: memoryview, position: int) -> int:
    """Past one RLE level section of a v1 data page: a 4-byte length, then that many bytes."""
    (length,) = _LENGTH.unpack_from(page, position)
    end: int = position + 4 + length
    if end > len(page):
        raise _UnreadablePageError("level section")
    return end


def read_compact_struct(data: memoryview, position: int) -> tuple[dict[int, Any], int]:
    """One Thrift compact-protocol struct at `position`: {field id: int, bool or nested
    struct} (strings, doubles and collections are skipped) and the position after it."""
    fields: dict[int, Any] = {}
    field = 0
    while True:
        header = data[position]
        position += 1
        if header == 0:
            return fields, position
        kind, delta = header & 0x0F, header >> 4
        if delta:
            field += delta
        else:
            raw, position = _varint(data, position)
            field = _zigzag(raw)
        if kind in (BOOL_TRUE, BOOL_FALSE):
            fields[field] = kind == BOOL_TRUE
        elif kind == STRUCT:
            fields[field], position = read_compact_struct(data, position)
        elif kind in (BYTE, I16, I32, I64):
            if kind == BYTE:
                fields[field] = data[position]
                position += 1
            else:
                raw, position = _varint(data, position)
                fields[field] = _zigzag(raw)
        else:
            position = _skip(data, position, kind)


def _skip(data: memoryview, position: int, kind: int) -> int:
    if kind == DOUBLE:
        return position + 8
    if kind == BINARY:
        length, position = _varint(data, position)
        return position + length
    if kind in (LIST, SET):
        header = data[position]
        position += 1
        count, element = header >> 4, header & 0x0F
        if count == 15:
            count, position = _varint(data, position)
        if count > len(data) - position:  # every element takes a byte at least
            raise _UnreadablePageError("list length")
        for _ in range(count):
            position = _skip_value(data, position, element)
        return position
    raise _UnreadablePageError(f"Thrift type {kind}")  # maps never occur in page headers


def _skip_value(data: memoryview, position: int, kind: int) -> int:
    if kind in (BOOL_TRUE, BOOL_FALSE):  # inside a collection a bool is one byte
        return position + 1
    if kind == BYTE:
        return position + 1
    if kind in (I16, I32, I64):
        return _varint(data, position)[1]
    if kind == STRUCT:
        return read_compact_struct(data, position)[1]
    return _skip(data, position, kind)


def _varint(data: memoryview, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, position
        shift += 7
        if shift > 63:
            raise _UnreadablePageError("varint")


def _zigzag(value: int) -> int:
    return (value >> 1) ^ -(value & 1)
