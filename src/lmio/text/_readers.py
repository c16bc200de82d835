"""The per-format readers: lines, JSON lines, whole files, paragraphs and Parquet to records.

Each yields lists of records (a run of lines, a Parquet batch), so the per-document work
left in Python is the least it can be. Documents longer than the part limit are cut where
`cut_point` allows.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from lmio.errors import DataError
from lmio.text._decoding import Utf8Decoder, decode_line
from lmio.text._lines import FRAGMENT, LINES
from lmio.text._native_lines import LineDocuments, NativeOptions, read_lines
from lmio.text._records import OnInvalid, ReadStats, Record

__all__ = ["Reader", "cut_point"]

logger = logging.getLogger(__name__)

Runs = Iterable[tuple[int, bytes, int]]

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
# The decoder's C scanner: (value, end) of the JSON value at an index; typeshed omits it.
_SCAN_JSON: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


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

    def add(self, text: str) -> list[Record]:
        self._pieces.append(text)
        self._size += len(text)
        if self._limit is None or self._size <= self._limit:
            return []
        buffer = "".join(self._pieces)
        start = 0
        out: list[Record] = []
        while len(buffer) - start > self._limit:
            window = buffer[start : start + self._limit + 1]
            cut = cut_point(window, self._limit)
            if cut is None:
                cut = self._limit
                self._stats.unsafe_cuts += 1
            if self._part == 0:
                self._stats.split_documents += 1
            out.append(Record(self._key, window[:cut], self._part, last=False))
            self._part += 1
            start += cut
        self._pieces = [buffer[start:]]
        self._size = len(self._pieces[0])
        return out

    def finish(self) -> Record:
        self._stats.documents += 1
        return Record(self._key, "".join(self._pieces), self._part, last=True)

    @property
    def empty(self) -> bool:
        return self._part == 0 and self._size == 0


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


def _lines(
    offset: int, data: bytes, url: str, on_invalid: OnInvalid, stats: ReadStats
) -> tuple[list[int], list[bytes], list[str]]:
    """A run's lines: their offsets, bytes and text (decoded once for the whole run)."""
    raw = data.split(b"\n")
    try:
        text = data.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        text = []
        position = offset
        for line in raw:
            text.append(decode_line(line, url, position, on_invalid, stats))
            position += len(line) + 1
    offsets = []
    for line in raw:
        offsets.append(offset)
        offset += len(line) + 1
    return offsets, raw, text


class _LongLine:
    """A line of text longer than the run limit, arriving in fragments: decoded and cut into
    parts as it comes."""

    def __init__(self, reader: Reader) -> None:
        self._reader = reader
        self._current: tuple[_Parts, Utf8Decoder] | None = None

    def add(self, offset: int, data: bytes, kind: int) -> list[Record]:
        reader = self._reader
        if self._current is None:
            self._current = (
                _Parts(offset, reader.max_chars, reader.stats),
                Utf8Decoder(reader.url, reader.on_invalid, reader.stats, base=offset),
            )
        parts, decoder = self._current
        records = parts.add(decoder.decode(data, final=kind != FRAGMENT))
        if kind != FRAGMENT:
            records.append(parts.finish())
            self._current = None
        return records


class Reader:
    """The readers behind `iter_record_batches`, sharing its options."""

    def __init__(
        self,
        url: str,
        *,
        text_field: str,
        on_invalid: OnInvalid,
        strict: bool,
        stats: ReadStats,
        max_chars: int | None,
        max_record_bytes: int | None,
    ) -> None:
        self.url = url
        self.text_field = text_field
        self.on_invalid = on_invalid
        self.strict = strict
        self.stats = stats
        self.max_chars = max_chars
        self.max_record_bytes = max_record_bytes

    def _add(self, records: list[Record], key: int, text: str) -> None:
        """A whole document: one record, or parts when it is longer than `max_chars`."""
        if self.max_chars is None or len(text) <= self.max_chars:
            records.append(Record(key, text))
            self.stats.documents += 1
        else:
            parts = _Parts(key, self.max_chars, self.stats)
            records += parts.add(text)
            records.append(parts.finish())

    def json_lines(self, runs: Runs) -> Iterator[list[Record]]:
        skipped = None  # offset of the too long line being skipped
        for offset, data, kind in runs:
            self.stats.bytes += len(data) + (kind != FRAGMENT)
            if kind != LINES:
                skipped = self._json_fragment(offset, skipped)
                continue
            if records := self._json_run(offset, data):
                yield records

    def _json_fragment(self, offset: int, skipped: int | None) -> int:
        """A piece of a line longer than the record limit: counted once, skipped."""
        if offset != skipped:
            self._oversized(offset)
        return offset

    def _json_run(self, offset: int, data: bytes) -> list[Record]:
        records: list[Record] = []
        lines = _lines(offset, data, self.url, self.on_invalid, self.stats)
        for key, raw, line in zip(*lines, strict=True):
            self._json_line(records, key, raw, line)
        return records

    def _json_line(self, records: list[Record], key: int, raw: bytes, line: str) -> None:
        if self.max_record_bytes is not None and len(raw) > self.max_record_bytes:
            self._oversized(key)
        elif line and not line.isspace():
            text = self._json_text(key, line)
            if text is not None:
                self._add(records, key, text)

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
        if _SURROGATE_ESCAPE.search(line) is not None and _has_surrogates(text):
            self.stats.invalid_utf8 += 1  # a lone surrogate escaped in JSON: not Unicode text
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return text

    def whole_file(self, chunks: Iterable[bytes]) -> Iterator[list[Record]]:
        decoder = Utf8Decoder(self.url, self.on_invalid, self.stats)
        parts = _Parts(0, self.max_chars, self.stats)
        for chunk in chunks:
            self.stats.bytes += len(chunk)
            if records := parts.add(decoder.decode(chunk)):
                yield records
        if records := parts.add(decoder.decode(b"", final=True)):
            yield records
        if not parts.empty:
            yield [parts.finish()]

    def text_lines(self, runs: Runs) -> Iterator[list[Record]]:
        """One document per non-blank line."""
        long_line = _LongLine(self)
        for offset, data, kind in runs:
            self.stats.bytes += len(data) + (kind != FRAGMENT)
            records = (
                self._text_run(offset, data) if kind == LINES else long_line.add(offset, data, kind)
            )
            if records:
                yield records

    def _text_run(self, offset: int, data: bytes) -> list[Record]:
        records: list[Record] = []
        lines = _lines(offset, data, self.url, self.on_invalid, self.stats)
        for key, _, line in zip(*lines, strict=True):
            if line and not line.isspace():
                self._add(records, key, line)
        return records

    def native_lines(
        self, runs: Runs, options: NativeOptions
    ) -> Iterator[list[Record] | LineDocuments]:
        """`json_lines` or `text_lines` (`options.json`), with each run of whole lines read by
        the C pass: its documents come as `LineDocuments`, and the lines it leaves to Python
        as records, in file order."""
        skipped = None
        long_line = _LongLine(self)
        for offset, data, kind in runs:
            self.stats.bytes += len(data) + (kind != FRAGMENT)
            if kind == LINES:
                yield from self._native_run(offset, data, options)
            elif options.json:
                skipped = self._json_fragment(offset, skipped)
            elif records := long_line.add(offset, data, kind):
                yield records

    def _native_run(
        self, offset: int, data: bytes, options: NativeOptions
    ) -> Iterator[list[Record] | LineDocuments]:
        limit = self.max_record_bytes if options.json else None
        result = read_lines(data, options, max_line_bytes=limit, max_chars=self.max_chars)
        if result is None:  # not valid UTF-8: Python reads the run, replacing and counting
            records = self._json_run(offset, data) if options.json else self._text_run(offset, data)
            if records:
                yield records
            return
        self.stats.documents += result.documents
        for part in result.parts(offset):
            if isinstance(part, LineDocuments):
                yield part
                continue
            records = []
            for start, end in part:
                raw = data[start:end]
                if options.json:
                    self._json_line(records, offset + start, raw, raw.decode("utf-8"))
                else:
                    self._add(records, offset + start, raw.decode("utf-8"))
            if records:
                yield records

    def paragraphs(self, runs: Runs) -> Iterator[list[Record]]:
        """One document per run of non-blank lines, joined with newlines."""
        paragraph: _Parts | None = None
        decoder: Utf8Decoder | None = None  # set while inside a line longer than the limit
        out: list[Record] = []
        for offset, data, kind in runs:
            self.stats.bytes += len(data) + (kind != FRAGMENT)
            if kind == LINES:
                pieces = zip(
                    *_lines(offset, data, self.url, self.on_invalid, self.stats), strict=True
                )
                for key, _, line in pieces:
                    if not line or line.isspace():  # a blank line ends the paragraph
                        if paragraph is not None:
                            out.append(paragraph.finish())
                            paragraph = None
                    elif paragraph is None:
                        paragraph = _Parts(key, self.max_chars, self.stats)
                        out += paragraph.add(line)
                    else:
                        out += paragraph.add("\n" + line)
            else:
                continuing = decoder is not None
                if decoder is None:
                    decoder = Utf8Decoder(self.url, self.on_invalid, self.stats, base=offset)
                text = decoder.decode(data, final=kind != FRAGMENT)
                if kind != FRAGMENT:
                    decoder = None
                if paragraph is None:
                    paragraph = _Parts(offset, self.max_chars, self.stats)
                    out += paragraph.add(text)
                else:
                    out += paragraph.add(text if continuing else "\n" + text)
            if out:
                yield out
                out = []
        if paragraph is not None:
            yield [paragraph.finish()]

    def parquet(self, source: Any) -> Iterator[list[Record]]:
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(source)
        names = parquet.schema_arrow.names
        if self.text_field not in names:
            raise DataError(
                f"{self.url} has no column {self.text_field!r} (columns: "
                f"{', '.join(names)}); name the text column with text_field= (--text-field)"
            )
        row = 0
        for batch in parquet.iter_batches(columns=[self.text_field], batch_size=1024):
            records: list[Record] = []
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
                self._add(records, key, text)
            if records:
                yield records
