"""Documents from files and URLs: plain text, JSON lines and Parquet, optionally compressed.

Readers stream: a file is read in blocks, so memory stays bounded by the largest document,
never by the file; with `max_document_chars` even a document longer than that (a 1 GB line)
comes out as consecutive parts of bounded size. Invalid UTF-8 is replaced with U+FFFD and
counted, or is an error that names the file and the byte offset. Malformed records are skipped
and counted, or are errors under `strict=True`; so are binary and unreadable files.

Each document carries a `key`, where it starts: its byte offset in the (decompressed) file for
text and JSON lines, its row number for Parquet. (source, key) identifies a document across
runs, and lets a large uncompressed file be read in byte ranges by independent workers: a
range owns the records that start inside it.
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any, Literal, TypeVar

from lmio.errors import DataError, InvalidArgumentError, NotFoundError
from lmio.store._files import is_local, open_input
from lmio.text._decoding import Utf8Decoder
from lmio.text._lines import blocks, line_runs
from lmio.text._native_lines import LineDocuments, NativeOptions
from lmio.text._readers import Reader, cut_point
from lmio.text._records import OnInvalid, ReadStats, Record, SplitMode

__all__ = [
    "OnInvalid",
    "ReadStats",
    "Record",
    "SplitMode",
    "cut_point",
    "expand_inputs",
    "iter_documents",
    "iter_native_batches",
    "iter_record_batches",
    "iter_records",
    "iter_text_blocks",
    "native_format",
    "splittable",
]

logger = logging.getLogger(__name__)

_BLOCK_BYTES = 1 << 20
_BINARY_PROBE = 8192
_COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd"}
_JSON_SUFFIXES = {".jsonl", ".json", ".ndjson"}
_BYTES_PER_CHAR = 4  # the most a character takes in UTF-8: bounds long lines by bytes


def expand_inputs(
    inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    storage_options: dict[str, Any] | None = None,
) -> list[str]:
    """Files, directories (searched recursively), globs and URLs, as a sorted list of files.

    Each input keeps its place; files found under one directory or glob are sorted, and a
    file named twice is read once.
    """
    items = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    if not items:
        raise InvalidArgumentError("no inputs given: name at least one file, directory or URL")
    found: list[str] = []
    for item in items:
        text = os.fspath(item)
        found.extend(_expand_one(text, storage_options))
    return list(dict.fromkeys(found))


def _expand_one(text: str, storage_options: dict[str, Any] | None) -> list[str]:
    if is_local(text):
        path = text[len("file://") :] if text.startswith("file://") else text
        if os.path.isdir(path):
            files = sorted(
                os.path.join(root, name)
                for root, _dirs, names in os.walk(path, onerror=_unlistable)
                for name in names
                if not name.startswith(".")
            )
            if not files:
                raise NotFoundError(f"directory {path} holds no files to read")
            return files
        if glob.has_magic(path):
            files = sorted(p for p in glob.glob(path, recursive=True) if os.path.isfile(p))
            if not files:
                raise NotFoundError(f"no files match {path!r}")
            return files
        if not os.path.exists(path):
            raise NotFoundError(f"no such file or directory: {path}")
        return [path]
    from lmio.store import filesystem

    fs, path = filesystem(text, storage_options=storage_options)
    protocol = text.split("://", 1)[0]
    if glob.has_magic(path):
        matches = sorted(fs.glob(path))
    elif fs.isdir(path):
        matches = sorted(fs.find(path))
    elif fs.exists(path):
        matches = [path]
    else:
        raise NotFoundError(f"no such object or prefix: {text}")
    if not matches:
        raise NotFoundError(f"nothing matches {text}")
    return [f"{protocol}://{m}" for m in matches]


def _unlistable(error: OSError) -> None:
    raise DataError(
        f"cannot list the directory {error.filename}: {error.strerror}; "
        "fix its permissions or leave it out of the inputs"
    )


def _format_of(url: str) -> tuple[str, str | None]:
    """('text' | 'jsonl' | 'parquet', compression codec or None) from the file name."""
    name = url.rsplit("/", 1)[-1].lower()
    compression = None
    for suffix, codec in _COMPRESSIONS.items():
        if name.endswith(suffix):
            compression = codec
            name = name[: -len(suffix)]
            break
    ext = os.path.splitext(name)[1]
    if ext == ".parquet":
        return "parquet", compression
    if ext in _JSON_SUFFIXES:
        return "jsonl", compression
    return "text", compression


def splittable(url: str, split: SplitMode) -> bool:
    """Whether `iter_records` can read the file in byte ranges (uncompressed, one record a line)."""
    kind, compression = _format_of(url)
    return compression is None and (kind == "jsonl" or (kind == "text" and split == "line"))


def _open_decompressed(
    url: str, compression: str | None, storage_options: dict[str, Any] | None
) -> IO[bytes]:
    raw = open_input(url, storage_options=storage_options)
    if compression is None:
        return raw
    import pyarrow as pa

    stream: IO[bytes] = pa.CompressedInputStream(pa.PythonFile(raw, mode="r"), compression)
    return stream


def iter_text_blocks(
    url: str,
    *,
    on_invalid: OnInvalid = "replace",
    stats: ReadStats | None = None,
    storage_options: dict[str, Any] | None = None,
) -> Iterator[str]:
    """A text file's content as decoded blocks of about 1 MB (cut anywhere, even mid-line)."""
    stats = stats if stats is not None else ReadStats()
    _, compression = _format_of(url)
    decoder = Utf8Decoder(url, on_invalid, stats)
    with _open_decompressed(url, compression, storage_options) as stream:
        for block in blocks(stream, b"", _BLOCK_BYTES):
            stats.bytes += len(block)
            yield decoder.decode(block)
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail


def iter_record_batches(
    url: str,
    *,
    text_field: str = "text",
    split: SplitMode = "file",
    on_invalid: OnInvalid = "replace",
    strict: bool = False,
    stats: ReadStats | None = None,
    storage_options: dict[str, Any] | None = None,
    byte_range: tuple[int, int] | None = None,
    max_document_chars: int | None = None,
    max_record_bytes: int | None = None,
) -> Iterator[list[Record]]:
    """The documents of one file in file order, in lists (a run of lines, a Parquet batch).

    Text files give one document per file, line or blank-line separated block (`split`);
    JSON-lines and Parquet files give one per record, from `text_field`. `byte_range=(start,
    end)` reads only the records that start in it (files for which `splittable` is true).
    With `max_document_chars`, longer documents come in parts cut by `cut_point`; a line of
    text streams in bounded memory however long it is. A JSON record must be parsed whole:
    one longer than `max_record_bytes` is skipped and counted (`strict`: an error). A file
    that cannot be read is skipped with a warning and counted (`strict`: an error naming it).
    """
    stats = stats if stats is not None else ReadStats()
    reader = _reader(
        url,
        text_field=text_field,
        split=split,
        on_invalid=on_invalid,
        strict=strict,
        stats=stats,
        byte_range=byte_range,
        max_document_chars=max_document_chars,
        max_record_bytes=max_record_bytes,
    )
    line_limit = None if max_document_chars is None else max_document_chars * _BYTES_PER_CHAR

    def batches(
        kind: str, chunks: Iterator[bytes], start: int, end: int | None
    ) -> Iterator[list[Record]]:
        if kind == "jsonl":
            yield from reader.json_lines(line_runs(chunks, start, end, max_record_bytes))
        elif split == "file":
            yield from reader.whole_file(chunks)
        elif split == "line":
            yield from reader.text_lines(line_runs(chunks, start, end, line_limit))
        else:
            yield from reader.paragraphs(line_runs(chunks, 0, None, line_limit))

    yield from _read(
        url, reader, byte_range=byte_range, storage_options=storage_options, batches=batches
    )


def native_format(url: str, split: SplitMode) -> Literal["jsonl", "text"] | None:
    """How `iter_native_batches` reads the file through the C pass: as JSON lines, as text
    split by line, or not at all (None); compressed or not."""
    kind, _ = _format_of(url)
    if kind == "jsonl":
        return "jsonl"
    return "text" if kind == "text" and split == "line" else None


def iter_native_batches(
    url: str,
    native: NativeOptions,
    *,
    split: SplitMode = "file",
    on_invalid: OnInvalid = "replace",
    strict: bool = False,
    stats: ReadStats | None = None,
    storage_options: dict[str, Any] | None = None,
    byte_range: tuple[int, int] | None = None,
    max_document_chars: int | None = None,
    max_record_bytes: int | None = None,
) -> Iterator[list[Record] | LineDocuments]:
    """`iter_record_batches` of a file `native_format` says the C pass reads: its runs of
    whole lines come as `LineDocuments` (see lmio.text._native_lines), and what the pass
    leaves to Python as records, in file order. `native.json` must match the file's format."""
    stats = stats if stats is not None else ReadStats()
    field = native.field.decode("utf-8")
    reader = _reader(
        url,
        text_field=field,
        split=split,
        on_invalid=on_invalid,
        strict=strict,
        stats=stats,
        byte_range=byte_range,
        max_document_chars=max_document_chars,
        max_record_bytes=max_record_bytes,
    )
    line_limit = None if max_document_chars is None else max_document_chars * _BYTES_PER_CHAR

    def batches(
        kind: str, chunks: Iterator[bytes], start: int, end: int | None
    ) -> Iterator[list[Record] | LineDocuments]:
        if (kind == "jsonl") != native.json or (kind == "text" and split != "line"):
            raise InvalidArgumentError(f"{url} is not read by the C pass with these options")
        limit = max_record_bytes if native.json else line_limit
        yield from reader.native_lines(line_runs(chunks, start, end, limit), native)

    yield from _read(
        url, reader, byte_range=byte_range, storage_options=storage_options, batches=batches
    )


def _reader(
    url: str,
    *,
    text_field: str,
    split: SplitMode,
    on_invalid: OnInvalid,
    strict: bool,
    stats: ReadStats,
    byte_range: tuple[int, int] | None,
    max_document_chars: int | None,
    max_record_bytes: int | None,
) -> Reader:
    if split not in ("file", "line", "paragraph"):
        raise InvalidArgumentError(f"split must be 'file', 'line' or 'paragraph', got {split!r}")
    if on_invalid not in ("replace", "error"):
        raise InvalidArgumentError(f"on_invalid must be 'replace' or 'error', got {on_invalid!r}")
    if max_document_chars is not None and max_document_chars < 2:
        raise InvalidArgumentError(
            f"max_document_chars must be at least 2, got {max_document_chars}"
        )
    if byte_range is not None and not splittable(url, split):
        raise InvalidArgumentError(
            f"{url} cannot be read in byte ranges: only uncompressed JSON lines, and text "
            "with split='line', can"
        )
    return Reader(
        url,
        text_field=text_field,
        on_invalid=on_invalid,
        strict=strict,
        stats=stats,
        max_chars=max_document_chars,
        max_record_bytes=max_record_bytes,
    )


T = TypeVar("T")


def _read(
    url: str,
    reader: Reader,
    *,
    byte_range: tuple[int, int] | None,
    storage_options: dict[str, Any] | None,
    batches: Callable[[str, Iterator[bytes], int, int | None], Iterator[T]],
) -> Iterator[T]:
    """Opens the file and hands its blocks (from the byte range's start) to `batches`, with
    the file's kind; Parquet goes to the reader itself. Binary and unreadable files are
    skipped and counted (`strict`: an error)."""
    stats, strict = reader.stats, reader.strict
    kind, compression = _format_of(url)
    try:
        if kind == "parquet":
            with open_input(url, storage_options=storage_options) as raw:
                yield from reader.parquet(raw)  # type: ignore[misc]
            return
        with _open_decompressed(url, compression, storage_options) as stream:
            head = b""
            if kind == "text":
                head = bytes(stream.read(_BINARY_PROBE))
                if b"\x00" in head:
                    _binary(url, strict, stats, byte_range)
                    return
            start, end = byte_range if byte_range is not None else (0, None)
            if start:
                stream.seek(start - 1)
                head = b""
            yield from batches(kind, blocks(stream, head, _BLOCK_BYTES), start, end)
    except (PermissionError, IsADirectoryError) as exc:
        _unreadable(url, exc.strerror or str(exc), strict, stats)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        _unreadable(url, str(exc), strict, stats)


def iter_records(
    url: str,
    *,
    text_field: str = "text",
    split: SplitMode = "file",
    on_invalid: OnInvalid = "replace",
    strict: bool = False,
    stats: ReadStats | None = None,
    storage_options: dict[str, Any] | None = None,
    byte_range: tuple[int, int] | None = None,
    max_document_chars: int | None = None,
    max_record_bytes: int | None = None,
) -> Iterator[Record]:
    """`iter_record_batches`, one record at a time."""
    for batch in iter_record_batches(
        url,
        text_field=text_field,
        split=split,
        on_invalid=on_invalid,
        strict=strict,
        stats=stats,
        storage_options=storage_options,
        byte_range=byte_range,
        max_document_chars=max_document_chars,
        max_record_bytes=max_record_bytes,
    ):
        yield from batch


def _unreadable(url: str, reason: str, strict: bool, stats: ReadStats) -> None:
    message = f"cannot read {url}: {reason}"
    if strict:
        raise DataError(
            f"{message}; fix the file or its permissions, or leave it out of the inputs"
        )
    stats.unreadable_files += 1
    logger.warning("%s; skipped it (what was read before the failure is kept)", message)


def _binary(url: str, strict: bool, stats: ReadStats, byte_range: tuple[int, int] | None) -> None:
    """A text file whose first 8 kB hold a NUL byte is binary: an error, or skipped and counted."""
    if strict:
        raise DataError(f"{url} looks binary (it holds NUL bytes); remove it from the inputs")
    if byte_range is None or byte_range[0] == 0:  # count the file once, not once per range
        stats.binary_files += 1


def iter_documents(
    url: str,
    *,
    text_field: str = "text",
    split: SplitMode = "file",
    on_invalid: OnInvalid = "replace",
    strict: bool = False,
    stats: ReadStats | None = None,
    storage_options: dict[str, Any] | None = None,
) -> Iterator[str]:
    """The documents of one file, in file order, whole.

    Text files give one document per file, line or blank-line separated block (`split`);
    JSON-lines and Parquet files give one per record, from `text_field`.
    """
    stats = stats if stats is not None else ReadStats()
    stats.files += 1
    before = stats.documents
    for batch in iter_record_batches(
        url,
        text_field=text_field,
        split=split,
        on_invalid=on_invalid,
        strict=strict,
        stats=stats,
        storage_options=storage_options,
    ):
        for record in batch:
            yield record.text
    if stats.documents == before:
        stats.empty_files += 1
