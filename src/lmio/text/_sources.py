"""Documents from files and URLs: plain text, JSON lines and Parquet, optionally compressed.

Readers stream: a file is read in blocks, so memory stays bounded by the largest document,
never by the file. Invalid UTF-8 is replaced with U+FFFD and counted, or is an error that
names the file and the byte offset. Malformed records are skipped and counted, or are errors
under `strict=True`.
"""

from __future__ import annotations

import codecs
import glob
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from typing import IO, Any, Literal

from lmio.errors import DataError, InvalidArgumentError, NotFoundError
from lmio.store._files import is_local, open_input

__all__ = [
    "ReadStats",
    "SplitMode",
    "expand_inputs",
    "iter_documents",
    "iter_text_blocks",
]

SplitMode = Literal["file", "line", "paragraph"]
OnInvalid = Literal["replace", "error"]

_BLOCK_BYTES = 1 << 20
_COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd"}
_JSON_SUFFIXES = {".jsonl", ".json", ".ndjson"}


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

    def add(self, other: ReadStats) -> None:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))


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
                for root, _dirs, names in os.walk(path)
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

    def __init__(self, url: str, on_invalid: OnInvalid, stats: ReadStats) -> None:
        self._url = url
        self._on_invalid = on_invalid
        self._stats = stats
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._consumed = 0  # bytes fed so far, for error offsets

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
                    raise DataError(
                        f"invalid UTF-8 in {self._url} at byte offset {base + start + exc.start}; "
                        "fix the file or read it with on_invalid='replace' "
                        "(--on-invalid replace) to substitute U+FFFD"
                    ) from None
                self._stats.invalid_utf8 += 1
                out.append(buffer[start : start + exc.start].decode("utf-8") + "\ufffd")
                self._decoder.reset()
                start += exc.end


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
    """The documents of one file, in file order.

    Text files give one document per file, line or blank-line separated block (`split`);
    JSON-lines and Parquet files give one per record, from `text_field`.
    """
    if split not in ("file", "line", "paragraph"):
        raise InvalidArgumentError(f"split must be 'file', 'line' or 'paragraph', got {split!r}")
    if on_invalid not in ("replace", "error"):
        raise InvalidArgumentError(f"on_invalid must be 'replace' or 'error', got {on_invalid!r}")
    stats = stats if stats is not None else ReadStats()
    kind, _ = _format_of(url)
    stats.files += 1
    before = stats.documents
    if kind == "parquet":
        yield from _count(
            _parquet_documents(url, text_field, strict, stats, storage_options), stats
        )
    elif kind == "jsonl":
        blocks = iter_text_blocks(
            url, on_invalid=on_invalid, stats=stats, storage_options=storage_options
        )
        yield from _count(_json_documents(url, _lines(blocks), text_field, strict, stats), stats)
    else:
        blocks = iter_text_blocks(
            url, on_invalid=on_invalid, stats=stats, storage_options=storage_options
        )
        yield from _count(_text_documents(url, blocks, split, strict, stats), stats)
    if stats.documents == before:
        stats.empty_files += 1


def _count(documents: Iterable[str], stats: ReadStats) -> Iterator[str]:
    for document in documents:
        stats.documents += 1
        yield document


def _lines(blocks: Iterable[str]) -> Iterator[str]:
    """Lines without their line break, across block boundaries."""
    rest = ""
    for block in blocks:
        lines = (rest + block).split("\n")
        rest = lines.pop()
        yield from lines
    if rest:
        yield rest


def _text_documents(
    url: str, blocks: Iterable[str], split: SplitMode, strict: bool, stats: ReadStats
) -> Iterator[str]:
    blocks = iter(blocks)
    first = next(blocks, "")
    if "\x00" in first[:8192]:
        if strict:
            raise DataError(f"{url} looks binary (it holds NUL bytes); remove it from the inputs")
        stats.binary_files += 1
        return
    chained = _chain(first, blocks)
    if split == "file":
        text = "".join(chained)
        if text:
            yield text
    elif split == "line":
        yield from (line for line in _lines(chained) if line.strip())
    else:
        paragraph: list[str] = []
        for line in _lines(chained):
            if line.strip():
                paragraph.append(line)
            elif paragraph:
                yield "\n".join(paragraph)
                paragraph = []
        if paragraph:
            yield "\n".join(paragraph)


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    if first:
        yield first
    yield from rest


def _json_documents(
    url: str, lines: Iterable[str], text_field: str, strict: bool, stats: ReadStats
) -> Iterator[str]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            if strict:
                raise DataError(f"{url} line {number} is not valid JSON ({exc.msg})") from None
            stats.malformed_records += 1
            continue
        text = record.get(text_field) if isinstance(record, dict) else None
        if not isinstance(text, str):
            if strict:
                raise DataError(
                    f"{url} line {number} has no string field {text_field!r}; "
                    "name the right field with text_field= (--text-field)"
                )
            stats.missing_text += 1
            continue
        yield text


def _parquet_documents(
    url: str,
    text_field: str,
    strict: bool,
    stats: ReadStats,
    storage_options: dict[str, Any] | None,
) -> Iterator[str]:
    import pyarrow.parquet as pq

    with open_input(url, storage_options=storage_options) as raw:
        parquet = pq.ParquetFile(raw)
        names = parquet.schema_arrow.names
        if text_field not in names:
            raise DataError(
                f"{url} has no column {text_field!r} (columns: {', '.join(names)}); "
                "name the text column with text_field= (--text-field)"
            )
        for batch in parquet.iter_batches(columns=[text_field], batch_size=1024):
            for text in batch.column(0).to_pylist():
                if not isinstance(text, str):
                    if strict:
                        raise DataError(f"{url} has a null or non-string {text_field!r} value")
                    stats.missing_text += 1
                    continue
                stats.bytes += len(text)
                yield text
