"""Token shards: Parquet files written by lmio's own writer, read back row group by row group.

The writer (lmio.store._parquet_writer) lays the pages out itself, so the same rows give the
same bytes in any process, on any executor, with any pyarrow. The files carry nothing about
the run (no timestamps, no host names): the footer holds the Arrow schema and `created_by`.

Columns: `tokens` (list of uint16 when the vocabulary fits, else uint32), `doc_id` (uint64),
`source` (string, dictionary-encoded on disk) and `n_tokens` (uint32).
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lmio.errors import FormatError, IntegrityError, InvalidArgumentError, LmioError
from lmio.store._checksums import new_hasher
from lmio.store._files import (
    checksum_file,
    is_local,
    open_input,
    open_output_atomic,
    start_writeback,
)
from lmio.store._parquet_writer import (
    CREATED_BY_PREFIX,
    WRITER_SETTINGS,
    ParquetShardWriter,
    RowGroup,
    TokenType,
)
from lmio.store._ranges import ByteRange, ShardRanges
from lmio.store._token_pages import PageChecksumError, token_pages

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pyarrow as pa
    import pyarrow.parquet as pq

__all__ = [
    "COLUMNS",
    "WRITER_SETTINGS",
    "HashingWriter",
    "RowGroup",
    "ShardReader",
    "ShardRecord",
    "TokenType",
    "list_to_numpy",
    "shard_schema",
    "token_type_for",
    "write_shard",
]

logger = logging.getLogger(__name__)

# Read-ahead of a remote shard's stream (see open_input): enough for its footer.
_RANDOM_ACCESS = 64 << 10

COLUMNS = ("tokens", "doc_id", "source", "n_tokens")


def token_type_for(vocab_size: int) -> TokenType:
    """uint16 when every id fits in 16 bits, else uint32."""
    return "uint16" if vocab_size <= 1 << 16 else "uint32"


def shard_schema(token_type: TokenType) -> pa.Schema:
    import pyarrow as pa

    item = pa.uint16() if token_type == "uint16" else pa.uint32()
    return pa.schema(
        [
            pa.field("tokens", pa.list_(pa.field("item", item, nullable=False)), nullable=False),
            pa.field("doc_id", pa.uint64(), nullable=False),
            pa.field("source", pa.string(), nullable=False),
            pa.field("n_tokens", pa.uint32(), nullable=False),
        ]
    )


@dataclass(frozen=True)
class ShardRecord:
    """What writing a shard produced: the manifest's entry for it, less its path."""

    rows: int
    tokens: int
    bytes: int
    checksum: str
    row_group_rows: tuple[int, ...]
    row_group_tokens: tuple[int, ...]
    ranges: ShardRanges | None = None  # None for shards written before ranges were recorded

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "rows": self.rows,
            "tokens": self.tokens,
            "bytes": self.bytes,
            "checksum": self.checksum,
            "row_group_rows": list(self.row_group_rows),
            "row_group_tokens": list(self.row_group_tokens),
        }
        if self.ranges is not None:
            body["ranges"] = self.ranges.to_dict()
        return body

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "a shard record") -> ShardRecord:
        rows = tuple(int(n) for n in data["row_group_rows"])
        size = int(data["bytes"])
        ranges = data.get("ranges")
        return cls(
            rows=int(data["rows"]),
            tokens=int(data["tokens"]),
            bytes=size,
            checksum=str(data["checksum"]),
            row_group_rows=rows,
            row_group_tokens=tuple(int(n) for n in data["row_group_tokens"]),
            ranges=None
            if ranges is None
            else ShardRanges.from_dict(ranges, size=size, row_groups=len(rows), where=where),
        )


class HashingWriter:
    """A write-only stream that hashes (with `algorithm`) and counts what passes through it."""

    def __init__(self, raw: Any, *, algorithm: str = "sha256") -> None:
        self._raw = raw
        self._algorithm = algorithm
        self.digest = new_hasher(algorithm)
        self.size = 0
        self.closed = False

    @property
    def checksum(self) -> str:
        """`<algorithm>:<hex>` of the bytes written so far."""
        return f"{self._algorithm}:{self.digest.hexdigest()}"

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.digest.update(view)
        self.size += view.nbytes
        self._raw.write(view)
        return view.nbytes

    def flush(self) -> None:
        self._raw.flush()

    def close(self) -> None:  # the owner of `raw` closes it
        self.closed = True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self.size


def write_shard(
    url: str,
    row_groups: Iterable[pa.Table | RowGroup],
    *,
    token_type: TokenType,
    storage_options: dict[str, Any] | None = None,
) -> ShardRecord:
    """Write one row group per table (with the shard schema's columns) or `RowGroup`,
    atomically; return its record. The bytes depend on the rows alone, not on how a
    table's arrays happen to be chunked."""
    rows: list[int] = []
    tokens: list[int] = []
    with open_output_atomic(url, storage_options=storage_options) as raw:
        sink = HashingWriter(raw)
        writer = ParquetShardWriter(sink, token_type=token_type)
        for given in row_groups:
            group = given if isinstance(given, RowGroup) else row_group_of(given, token_type)
            writer.write_row_group(group)
            start_writeback(raw)  # on disk as it goes, not all in the closing fsync
            rows.append(group.num_rows)
            tokens.append(len(group.tokens))
        writer.close()
    *groups, footer = (ByteRange(*r) for r in writer.ranges)
    return ShardRecord(
        rows=sum(rows),
        tokens=sum(tokens),
        bytes=sink.size,
        checksum=sink.checksum,
        row_group_rows=tuple(rows),
        row_group_tokens=tuple(tokens),
        ranges=ShardRanges(tuple(groups), footer),
    )


def row_group_of(table: pa.Table, token_type: TokenType) -> RowGroup:
    """A table with the shard schema's columns as a `RowGroup` (its `n_tokens` must match
    the lengths of its token lists)."""
    import numpy as np
    import pyarrow.compute as pc

    schema = shard_schema(token_type)
    table = table.select(list(COLUMNS)).cast(schema).combine_chunks()
    values, offsets = list_to_numpy(table.column("tokens"))
    counts = np.diff(offsets).astype(np.uint32)
    if not np.array_equal(counts, _column_values(table, "n_tokens")):
        raise InvalidArgumentError("n_tokens must equal the length of each row's tokens")
    source = pc.dictionary_encode(table.column("source")).combine_chunks()
    return RowGroup(
        tokens=np.ascontiguousarray(values),
        n_tokens=counts,
        doc_id=np.array(_column_values(table, "doc_id"), dtype=np.uint64),
        source_codes=_primitive_values(source.indices).astype(np.int32),
        source_names=tuple(str(name) for name in source.dictionary.to_pylist()),
    )


def _column_values(table: pa.Table, name: str) -> npt.NDArray[Any]:
    """A primitive column of a combined table as numpy (an empty one has no chunk)."""
    import numpy as np

    column = table.column(name)
    if column.num_chunks == 0:
        return np.zeros(0, dtype=np.dtype(column.type.to_pandas_dtype()))
    return _primitive_values(column.chunk(0))


def list_to_numpy(
    column: pa.ChunkedArray | pa.ListArray,
) -> tuple[npt.NDArray[np.unsignedinteger[Any]], npt.NDArray[np.int64]]:
    """A list column as (flat values, offsets from 0), the values viewed in place, not copied.

    Read straight from Arrow's buffers: pyarrow's `to_numpy` imports pandas on first use,
    which costs ~0.2 s of a loader's first batch.
    """
    import numpy as np
    import pyarrow as pa

    array = column
    if isinstance(column, pa.ChunkedArray):
        array = column.chunk(0) if column.num_chunks == 1 else pa.concat_arrays(column.chunks)
    wide = pa.types.is_large_list(array.type)
    offsets = np.frombuffer(
        array.buffers()[1],
        dtype=np.int64 if wide else np.int32,
        count=len(array) + 1,
        offset=array.offset * (8 if wide else 4),
    ).astype(np.int64)
    start, stop = int(offsets[0]), int(offsets[-1])
    return _primitive_values(array.values)[start:stop], (offsets - start if start else offsets)


def _primitive_values(array: pa.Array) -> npt.NDArray[Any]:
    """A primitive Arrow array without nulls as numpy, viewing its buffer (no pandas)."""
    import numpy as np

    item = np.dtype(array.type.to_pandas_dtype())
    return np.frombuffer(
        array.buffers()[1], dtype=item, count=len(array), offset=array.offset * item.itemsize
    )


class ShardReader:
    """One shard, open for reading row groups; `verify=True` checks `expected_checksum` first.
    Pages read are checked against their CRC-32s unless `check_pages=False` (for a shard whose
    sha256 was checked).

    `read_tokens` decodes the token pages itself and takes the rows' lengths from `n_tokens`
    when the shard is known to keep the two equal (`trusted_counts`; by default when lmio's
    writer wrote it, as its footer says; a dataset's shards all are); other Parquet files are
    read by pyarrow, whose rows follow the lists themselves."""

    def __init__(
        self,
        url: str,
        *,
        expected_checksum: str | None = None,
        verify: bool = False,
        check_pages: bool = True,
        storage_options: dict[str, Any] | None = None,
        on_close: Callable[[], None] | None = None,
        source: Any = None,
        metadata: pq.FileMetaData | None = None,
        trusted_counts: bool | None = None,
    ) -> None:
        """`source` (a file object) and `metadata` (its footer, read already) read the
        shard from elsewhere than `url`, such as cached byte ranges; `url` names it."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.url = url
        self._on_close = on_close  # e.g. releases the disk cache's pin on the file
        if verify:
            if expected_checksum is None:
                raise FormatError(f"cannot verify {url}: no checksum was recorded for it")
            found = checksum_file(url, storage_options=storage_options)
            if found != expected_checksum:
                raise IntegrityError(
                    f"{url} is damaged: its checksum is {found} but {expected_checksum} was "
                    "recorded when it was written; prepare the dataset again (or restore the file)"
                )
        if source is not None:
            pass
        elif is_local(url):
            path = url[len("file://") :] if url.startswith("file://") else url
            source = pa.memory_map(os.fspath(path))
        else:
            # Parquet reads the footer and each column chunk by range: little read-ahead.
            source = open_input(url, storage_options=storage_options, buffer_size=_RANDOM_ACCESS)
        try:
            self._file = pq.ParquetFile(
                source, metadata=metadata, page_checksum_verification=check_pages
            )
        except (pa.ArrowException, OSError) as exc:
            if isinstance(exc, LmioError):  # the storage's own errors say what to do
                raise
            raise FormatError(f"{url} is not a readable Parquet file: {exc}") from None
        names = self._file.schema_arrow.names
        if "tokens" not in names:
            raise FormatError(f"{url} has no 'tokens' column (columns: {', '.join(names)})")
        self._source = source
        self._check_pages = check_pages
        if trusted_counts is None:
            trusted_counts = str(self._file.metadata.created_by).startswith(CREATED_BY_PREFIX)
        self._pages = token_pages(self._file) if trusted_counts else None

    @property
    def num_row_groups(self) -> int:
        return int(self._file.num_row_groups)

    @property
    def num_rows(self) -> int:
        return int(self._file.metadata.num_rows)

    def read_row_group(self, index: int, *, columns: Iterable[str] = COLUMNS) -> pa.Table:
        return self._read(index, list(columns), use_threads=True)

    def read_tokens(
        self, index: int
    ) -> tuple[npt.NDArray[np.unsignedinteger[Any]], npt.NDArray[np.int64]]:
        """Row group `index`'s tokens: (flat values, offsets of len rows + 1).

        Row `i` is `values[offsets[i]:offsets[i + 1]]`. Every page read is checked against
        the CRC-32 its header records (shards written by lmio carry them).
        """
        fast = self._pages is not None and self._read_token_pages(index)
        if fast:
            return fast
        table = self._read(index, ["tokens"], use_threads=False)
        return list_to_numpy(table.column(0))

    def _read(self, index: int, columns: list[str], *, use_threads: bool) -> pa.Table:
        """pyarrow's read of a row group, a page that fails its checksum named as damage."""
        try:
            return self._file.read_row_group(index, columns=columns, use_threads=use_threads)
        except OSError as exc:
            if "checksum" not in str(exc).lower():
                raise
            raise IntegrityError(
                f"{self.url} is damaged: row group {index} ({', '.join(columns)}): {exc}; "
                "restore the shard or prepare the dataset again"
            ) from None

    def _read_token_pages(
        self, index: int
    ) -> tuple[npt.NDArray[np.unsignedinteger[Any]], npt.NDArray[np.int64]] | None:
        """read_tokens by the page decoder of `_token_pages`; None where it does not apply."""
        import numpy as np

        assert self._pages is not None
        chunk = self._file.metadata.row_group(index).column(self._pages.column)
        if chunk.dictionary_page_offset is not None:
            return None
        values = self._decode_tokens(index, chunk)
        if values is None:
            return None
        table = self._read(index, ["n_tokens"], use_threads=False)
        lengths = table.column(0).combine_chunks()
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        if len(lengths):
            np.cumsum(_primitive_values(lengths), out=offsets[1:])
        if offsets[-1] != len(values):
            return None
        return values, offsets

    def _decode_tokens(self, index: int, chunk: Any) -> npt.NDArray[np.unsignedinteger[Any]] | None:
        """The tokens column chunk of row group `index` through the page decoder; a page that
        fails its checksum is read once more (it may have been damaged in transit), then
        reported."""
        import pyarrow as pa

        assert self._pages is not None
        start, size = chunk.data_page_offset, chunk.total_compressed_size
        options = {"num_values": chunk.num_values, "check_crc": self._check_pages}
        try:
            return self._pages.decode(self._read_range(start, size), **options)
        except PageChecksumError:
            logger.warning(
                "%s: row group %d failed a page checksum; reading it again", self.url, index
            )
        if not isinstance(self._source, pa.NativeFile):
            # A buffered stream drops what it holds on a seek from the end, so the read
            # below fetches the bytes anew instead of serving the damaged copy again.
            self._source.seek(0, io.SEEK_END)
        try:
            return self._pages.decode(self._read_range(start, size), **options)
        except PageChecksumError as exc:
            raise IntegrityError(
                f"{self.url} is damaged: the tokens of row group {index} fail the checksum of "
                f"their {exc} twice; restore the shard or prepare the dataset again"
            ) from None

    def _read_range(self, start: int, size: int) -> memoryview:
        import pyarrow as pa

        if isinstance(self._source, pa.NativeFile):
            return memoryview(self._source.read_at(size, start)).cast("B")
        self._source.seek(start)
        return memoryview(self._source.read(size)).cast("B")

    def close(self) -> None:
        self._file.close()
        if self._on_close is not None:
            self._on_close()
            self._on_close = None

    def __enter__(self) -> ShardReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
