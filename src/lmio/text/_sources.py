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

import codecs
import glob
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from typing import IO, Any, Literal, NamedTuple

from lmio.errors import DataError, InvalidArgumentError, NotFoundError
from lmio.store._files import is_local, open_input

__all__ = [
    "OnInvalid",
    "ReadStats",
    "Record",
    "SplitMode",
    "cut_point",
    "expand_inputs",
    "iter_documents",
    "iter_records",
    "iter_text_blocks",
    "splittable",
]

logger = logging.getLogger(__name__)

SplitMode = Literal["file", "line", "paragraph"]
OnInvalid = Literal["replace", "error"]

_BLOCK_BYTES = 1 << 20
_BINARY_PROBE = 8192
_COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd"}
_JSON_SUFFIXES = {".jsonl", ".json", ".ndjson"}
_BYTES_PER_CHAR = 4  # the most a character takes in UTF-8: bounds long lines by bytes


@dataclass
class ReadStats:
    """What reading found: every count a report shows."""

    files: int = 0
    documents: int = 0
    bytes: int = 0
    invalid_utf8: int = 0
    malformed_records: int = 0
    missing_text: int = 0
    empty_files: int = 0
    binary_files: int = 0
    unreadable_files: int = 0
    oversized_records: int = 0
    split_documents: int = 0
    unsafe_cuts: int = 0

    def add(self, other: ReadStats) -> None:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))

    def to_dict(self) -> dict[str, int]:
        return {field.name: getattr(self, field.name) for field in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, int]) -> ReadStats:
        return cls(**{field.name: int(data.get(field.name, 0)) for field in fields(cls)})


class Record(NamedTuple):
    """A document, or one part of a document longer than `max_document_chars`.

    The parts of a document share its `key`, are numbered from 0 and only the final one has
    `last=True`; joined, they are the document.
    """

    key: int
    text: str
    part: int = 0
    last: bool = True


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
    import fsspec

    fs, path = fsspec.core.url_to_fs(text, **(storage_options or {}))
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


class _Utf8Decoder:
    """Incremental UTF-8 decoding that counts replaced sequences or names the first bad byte."""

    def __init__(self, url: str, on_invalid: OnInvalid, stats: ReadStats, base: int = 0) -> None:
        self._url = url
        self._on_invalid = on_invalid
        self._stats = stats
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._consumed = base  # file offset of the next byte fed, for error offsets

    def decode(self, data: bytes, *, final: bool = False) -> str:
        pending = len(self._decoder.getstate()[0])
        base = self._consumed - pending
        self._consumed += len(data)
        buffer = self._decoder.getstate()[0] + data
        self._decoder.reset()
        out: list[str] = []
        start = 0
        while True:
            try:
                out.append(self._decoder.decode(buffer[start:], final=final))
                return "".join(out)
            except UnicodeDecodeError as exc:
                if self._on_invalid == "error":
                    raise _invalid_utf8(self._url, base + start + exc.start) from None
                self._stats.invalid_utf8 += 1
                out.append(buffer[start : start + exc.start].decode("utf-8") + "\ufffd")
                self._decoder.reset()
                start += exc.end


def _invalid_utf8(url: str, offset: int) -> DataError:
    return DataError(
        f"invalid UTF-8 in {url} at byte offset {offset}; fix the file or read it with "
        "on_invalid='replace' (--on-invalid replace) to substitute U+FFFD"
    )


def _decode_line(
    data: bytes, url: str, offset: int, on_invalid: OnInvalid, stats: ReadStats
) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        decoder = _Utf8Decoder(url, on_invalid, stats, base=offset)
        return decoder.decode(data, final=True)


# The decoder's C scanner: (value, end) of the JSON value at an index; typeshed omits it.
_SCAN_JSON: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _parse_json(line: str) -> Any:
    """`json.loads(line)`, calling the C scanner directly for the usual `{...}` line."""
    if line.startswith("{"):
        try:
            value, end = _SCAN_JSON(line, 0)
        except StopIteration:  # pragma: no cover - a line starting with "{" always scans
            pass
        else:
            if end == len(line) or not line[end:].strip():
                return value
    return json.loads(line)


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


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
    decoder = _Utf8Decoder(url, on_invalid, stats)
    with _open_decompressed(url, compression, storage_options) as stream:
        while True:
            data = stream.read(_BLOCK_BYTES)
            if not data:
                break
            stats.bytes += len(data)
            yield decoder.decode(bytes(data))
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail


def cut_point(text: str, limit: int) -> int | None:
    """The last place at or before `limit`, past `limit // 2`, where a letter or digit is
    followed by a space; None when there is none.

    Cutting there changes nothing downstream: cleaning works on runs of whitespace and
    control characters, which never span such a place, and none of the named pre-tokenizer
    patterns matches across a non-space character followed by a space, so encoding the parts
    and joining the tokens equals encoding the whole.
    """
    low = limit // 2
    position = text.rfind(" ", low + 1, limit + 1)
    while position > low:
        if text[position - 1].isalnum():
            return position
        position = text.rfind(" ", low + 1, position)
    return None


class _Parts:
    """Assembles one document from pieces; past `limit` characters, emits it in parts."""

    def __init__(self, key: int, limit: int | None, stats: ReadStats) -> None:
        self._key = key
        self._limit = limit
        self._stats = stats
        self._pieces: list[str] = []
        self._size = 0
        self._part = 0

    def add(self, text: str) -> Iterator[Record]:
        self._pieces.append(text)
        self._size += len(text)
        if self._limit is None or self._size <= self._limit:
            return
        buffer = "".join(self._pieces)
        start = 0
        while len(buffer) - start > self._limit:
            window = buffer[start : start + self._limit + 1]
            cut = cut_point(window, self._limit)
            if cut is None:
                cut = self._limit
                self._stats.unsafe_cuts += 1
            if self._part == 0:
                self._stats.split_documents += 1
            yield Record(self._key, window[:cut], self._part, last=False)
            self._part += 1
            start += cut
        self._pieces = [buffer[start:]]
        self._size = len(self._pieces[0])

    def finish(self) -> Record:
        return Record(self._key, "".join(self._pieces), self._part, last=True)

    @property
    def empty(self) -> bool:
        return self._part == 0 and self._size == 0


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
    """The documents of one file in file order, each with its key (see the module notes).

    Text files give one document per file, line or blank-line separated block (`split`);
    JSON-lines and Parquet files give one per record, from `text_field`. `byte_range=(start,
    end)` reads only the records that start in it (files for which `splittable` is true).
    With `max_document_chars`, longer documents come in parts cut by `cut_point`; a line of
    text streams in bounded memory however long it is. A JSON record must be parsed whole:
    one longer than `max_record_bytes` is skipped and counted (`strict`: an error). A file
    that cannot be read is skipped with a warning and counted (`strict`: an error naming it).
    """
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
    stats = stats if stats is not None else ReadStats()
    kind, compression = _format_of(url)
    reader = _Reader(
        url,
        text_field=text_field,
        split=split,
        on_invalid=on_invalid,
        strict=strict,
        stats=stats,
        max_chars=max_document_chars,
        max_record_bytes=max_record_bytes,
    )
    try:
        if kind == "parquet":
            yield from reader.parquet(storage_options)
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
            blocks = _blocks(stream, head)
            if kind == "jsonl":
                lines = _byte_lines(blocks, start, end, reader.max_record_bytes)
                yield from reader.json_lines(lines)
            elif split == "file":
                yield from reader.whole_file(blocks)
            elif split == "line":
                yield from reader.text_lines(_byte_lines(blocks, start, end, reader.max_bytes))
            else:
                yield from reader.paragraphs(_byte_lines(blocks, 0, None, reader.max_bytes))
    except (PermissionError, IsADirectoryError) as exc:
        _unreadable(url, exc.strerror or str(exc), strict, stats)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        _unreadable(url, str(exc), strict, stats)


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


def _blocks(stream: IO[bytes], head: bytes) -> Iterator[bytes]:
    """`head` (bytes already read), then the rest of the stream in blocks."""
    if head:
        yield head
    while True:
        data = stream.read(_BLOCK_BYTES)
        if not data:
            return
        yield bytes(data)


def _byte_lines(
    blocks: Iterable[bytes], start: int, end: int | None, limit: int | None
) -> Iterator[tuple[int, bytes, bool]]:
    """(offset of the line, bytes, complete) for each line starting in [start, end).

    `blocks` begin at byte `start - 1` when `start` > 0 (to see whether a line starts at
    `start`), else at 0. Lines come without their newline. A line longer than `limit` bytes
    comes in fragments of about `limit` bytes, all with the line's offset, the last one with
    complete=True.
    """
    offset = max(start - 1, 0)  # file offset of data[0]
    syncing = start > 0  # skip to the first line that starts at or after `start`
    rest = b""
    line_start = offset
    partial = False
    for block in blocks:
        data = rest + block if rest else block
        i = 0
        if syncing:
            newline = data.find(b"\n")
            if newline < 0:
                offset += len(data)
                rest = b""
                continue
            i = newline + 1
            syncing = False
        while True:
            if not partial:
                line_start = offset + i
                if end is not None and line_start >= end:
                    return
            newline = data.find(b"\n", i)
            if newline < 0:
                break
            yield line_start, data[i:newline], True
            partial = False
            i = newline + 1
        rest = data[i:]
        offset += i
        if limit is not None and len(rest) > limit:
            yield line_start, rest, False
            partial = True
            offset += len(rest)
            rest = b""
    if syncing:
        return
    if not partial:
        line_start = offset
        if end is not None and line_start >= end:
            return
    if rest or partial:
        yield line_start, rest, True


class _Reader:
    """The per-format readers of `iter_records`, sharing its options."""

    def __init__(
        self,
        url: str,
        *,
        text_field: str,
        split: SplitMode,
        on_invalid: OnInvalid,
        strict: bool,
        stats: ReadStats,
        max_chars: int | None,
        max_record_bytes: int | None,
    ) -> None:
        self.url = url
        self.text_field = text_field
        self.split = split
        self.on_invalid = on_invalid
        self.strict = strict
        self.stats = stats
        self.max_chars = max_chars
        self.max_bytes = None if max_chars is None else max_chars * _BYTES_PER_CHAR
        self.max_record_bytes = max_record_bytes

    def _document(self, key: int, text: str) -> Iterator[Record]:
        """A whole document: one record, or parts when it is longer than `max_chars`."""
        if self.max_chars is None or len(text) <= self.max_chars:
            self.stats.documents += 1
            yield Record(key, text)
            return
        parts = _Parts(key, self.max_chars, self.stats)
        yield from self._emit(parts.add(text))
        yield from self._emit([parts.finish()])

    def _emit(self, records: Iterable[Record]) -> Iterator[Record]:
        for record in records:
            if record.last:
                self.stats.documents += 1
            yield record

    def json_lines(self, lines: Iterable[tuple[int, bytes, bool]]) -> Iterator[Record]:
        stats = self.stats
        max_chars = self.max_chars
        skipping = False
        for offset, data, complete in lines:
            stats.bytes += len(data) + complete
            limit = self.max_record_bytes
            if skipping or not complete or (limit is not None and len(data) > limit):
                if not skipping:
                    self._oversized(offset)
                skipping = not complete
                continue
            if not data.strip():
                continue
            line = _decode_line(data, self.url, offset, self.on_invalid, stats)
            text = self._json_text(offset, line)
            if text is None:
                continue
            if max_chars is None or len(text) <= max_chars:
                stats.documents += 1
                yield Record(offset, text)
            else:
                yield from self._document(offset, text)

    def _oversized(self, offset: int) -> None:
        message = (
            f"{self.url} has a JSON record at byte offset {offset} longer than "
            f"{self.max_record_bytes} bytes"
        )
        if self.strict:
            raise DataError(f"{message}; raise the limit (--max-document-chars) or split it")
        self.stats.oversized_records += 1
        logger.warning("%s; skipped it", message)

    def _json_text(self, offset: int, line: str) -> str | None:
        try:
            record = _parse_json(line)
        except json.JSONDecodeError as exc:
            if self.strict:
                raise DataError(
                    f"{self.url} at byte offset {offset} is not valid JSON ({exc.msg})"
                ) from None
            self.stats.malformed_records += 1
            return None
        text = record.get(self.text_field) if isinstance(record, dict) else None
        if not isinstance(text, str):
            if self.strict:
                raise DataError(
                    f"{self.url} at byte offset {offset} has no string field "
                    f"{self.text_field!r}; name the right field with text_field= (--text-field)"
                )
            self.stats.missing_text += 1
            return None
        if ("\\ud" in line or "\\uD" in line) and _has_surrogates(text):
            self.stats.invalid_utf8 += 1  # a lone surrogate escaped in JSON: not Unicode text
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return text

    def whole_file(self, blocks: Iterable[bytes]) -> Iterator[Record]:
        decoder = _Utf8Decoder(self.url, self.on_invalid, self.stats)
        parts = _Parts(0, self.max_chars, self.stats)
        for block in blocks:
            self.stats.bytes += len(block)
            yield from self._emit(parts.add(decoder.decode(block)))
        yield from self._emit(parts.add(decoder.decode(b"", final=True)))
        if not parts.empty:
            yield from self._emit([parts.finish()])

    def text_lines(self, lines: Iterable[tuple[int, bytes, bool]]) -> Iterator[Record]:
        """One document per non-blank line."""
        long_line: tuple[_Parts, _Utf8Decoder] | None = None
        for offset, data, complete in lines:
            self.stats.bytes += len(data) + complete
            if long_line is None and complete:  # a whole line: the common case
                line = _decode_line(data, self.url, offset, self.on_invalid, self.stats)
                if line.strip():
                    yield from self._document(offset, line)
                continue
            if long_line is None:
                long_line = self._long_line(offset)
            parts, decoder = long_line
            yield from self._emit(parts.add(decoder.decode(data, final=complete)))
            if complete:
                yield from self._emit([parts.finish()])
                long_line = None

    def paragraphs(self, lines: Iterable[tuple[int, bytes, bool]]) -> Iterator[Record]:
        """One document per run of non-blank lines, joined with newlines."""
        paragraph: _Parts | None = None
        decoder: _Utf8Decoder | None = None  # set while inside a line longer than max_bytes
        for offset, data, complete in lines:
            self.stats.bytes += len(data) + complete
            continuing = decoder is not None
            if not continuing and complete:  # a whole line: the common case
                line = _decode_line(data, self.url, offset, self.on_invalid, self.stats)
                if not line.strip():  # a blank line ends the paragraph
                    if paragraph is not None:
                        yield from self._emit([paragraph.finish()])
                        paragraph = None
                    continue
            else:
                if decoder is None:
                    decoder = _Utf8Decoder(self.url, self.on_invalid, self.stats, base=offset)
                line = decoder.decode(data, final=complete)
                if complete:
                    decoder = None
            if paragraph is None:
                paragraph = _Parts(offset, self.max_chars, self.stats)
                yield from self._emit(paragraph.add(line))
            else:
                yield from self._emit(paragraph.add(line if continuing else "\n" + line))
        if paragraph is not None:
            yield from self._emit([paragraph.finish()])

    def _long_line(self, offset: int) -> tuple[_Parts, _Utf8Decoder]:
        return (
            _Parts(offset, self.max_chars, self.stats),
            _Utf8Decoder(self.url, self.on_invalid, self.stats, base=offset),
        )

    def parquet(self, storage_options: dict[str, Any] | None) -> Iterator[Record]:
        import pyarrow.parquet as pq

        with open_input(self.url, storage_options=storage_options) as raw:
            parquet = pq.ParquetFile(raw)
            names = parquet.schema_arrow.names
            if self.text_field not in names:
                raise DataError(
                    f"{self.url} has no column {self.text_field!r} (columns: "
                    f"{', '.join(names)}); name the text column with text_field= (--text-field)"
                )
            row = 0
            for batch in parquet.iter_batches(columns=[self.text_field], batch_size=1024):
                for text in batch.column(0).to_pylist():
                    key, row = row, row + 1
                    if not isinstance(text, str):
                        if self.strict:
                            raise DataError(
                                f"{self.url} row {key} has a null or non-string "
                                f"{self.text_field!r} value"
                            )
                        self.stats.missing_text += 1
                        continue
                    self.stats.bytes += len(text)
                    yield from self._document(key, text)


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
    for record in iter_records(
        url,
        text_field=text_field,
        split=split,
        on_invalid=on_invalid,
        strict=strict,
        stats=stats,
        storage_options=storage_options,
    ):
        yield record.text
    if stats.documents == before:
        stats.empty_files += 1
