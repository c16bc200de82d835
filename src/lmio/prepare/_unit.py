"""Phase 1: one unit of input read, cleaned, filtered, hashed and tokenized into its files.

Whole documents go in batches: cleaning checks each step once per batch, doc ids are
computed for the batch at once, and the tokenizer encodes a batch per call. A document
longer than `max_document_chars` comes in parts; each part is cleaned as it comes, then cut
again where encoding the pieces equals encoding the whole, so its rows' tokens join to the
tokens of the cleaned document. Duplicates inside the unit are dropped here; across units,
in phase 2.

`doc_id` is splitmix64(h + key) modulo 2**64, where h is the first 8 bytes (little-endian)
of BLAKE2b-64 of the source name and key the document's byte offset in its file (or its
Parquet row number). splitmix64 is a bijection, so documents of one source never share an id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from hashlib import blake2b as _blake2b
from typing import TYPE_CHECKING, Any

from lmio.errors import FormatError
from lmio.prepare._layout import Layout
from lmio.prepare._settings import JobContext, PrepareSettings
from lmio.prepare._tokenizers import tokenizer_for
from lmio.prepare._unit_files import (
    PendingRows,
    UnitRecord,
    encode_rows,
    open_writers,
    work_file,
)
from lmio.text._clean import Cleaner
from lmio.text._sources import Record, cut_point, iter_record_batches

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from lmio.prepare._inputs import Unit
    from lmio.tokenizer import Tokenizer

__all__ = ["doc_ids", "process_unit"]

_BATCH_CHARS = 4_000_000
_BATCH_ROWS = 8192
_NO_HASH = bytes(16)
_JSON_BYTES_PER_CHAR = 12  # one character outside the BMP, escaped: \ud83d\ude00


def doc_ids(source: str, keys: Sequence[int]) -> npt.NDArray[np.uint64]:
    """The doc ids of the documents at `keys` of `source` (see the module notes)."""
    import numpy as np

    h = int.from_bytes(hashlib.blake2b(source.encode(), digest_size=8).digest(), "little")
    z = np.asarray(keys, dtype=np.uint64) + np.uint64(h)
    z += np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    result: npt.NDArray[np.uint64] = z ^ (z >> np.uint64(31))
    return result


class _LongDocument:
    """A document read in parts: cleaned and hashed as it comes, emitted in tokenizable pieces."""

    def __init__(self, doc: int) -> None:
        self.doc = doc
        self.hasher = hashlib.blake2b(digest_size=16)
        self.chars = 0
        self.carry = ""
        self.emitted = False
        self.too_long = False


class _UnitWorker:
    def __init__(self, context: JobContext, unit: Unit, tokenizer: Tokenizer) -> None:
        self.context = context
        self.settings = context.settings
        self.unit = unit
        self.tokenizer = tokenizer
        self.record = UnitRecord(unit.index)
        self.cleaner = Cleaner(self.settings.clean, self.record.clean)
        self.seen: set[bytes] = set()
        self.rows = PendingRows()
        self.long: _LongDocument | None = None

    def run(self) -> UnitRecord:
        settings = self.settings
        batches = iter_record_batches(
            self.unit.url,
            text_field=settings.text_field,
            split=settings.split,
            on_invalid=settings.on_invalid,
            strict=settings.strict,
            stats=self.record.read,
            storage_options=self.context.storage_options,
            byte_range=self.unit.byte_range,
            max_document_chars=settings.max_document_chars,
            max_record_bytes=None if self.unit.in_memory else _record_limit(settings),
        )
        layout = Layout(self.context.out)
        options = self.context.storage_options
        index = self.unit.index
        with (
            work_file(layout.unit_tokens(index), options) as tokens,
            work_file(layout.unit_index(index), options) as rows,
        ):
            writers = open_writers(tokens, rows, self.context)
            whole: list[Record] = []
            chars = 0
            for batch in batches:
                for record in batch:
                    if record.part == 0 and record.last:
                        whole.append(record)
                        chars += len(record.text)
                    else:  # a part of a long document: what came before goes first
                        self._documents(whole)
                        whole, chars = [], 0
                        self._part(record)
                if chars >= _BATCH_CHARS or len(whole) >= _BATCH_ROWS:
                    self._documents(whole)
                    whole, chars = [], 0
                if self.rows.chars >= _BATCH_CHARS or len(self.rows) >= _BATCH_ROWS:
                    self._flush(writers)
            self._documents(whole)
            self._flush(writers)
            for writer in writers:
                writer.close()
        self.record.documents = self.record.read.documents
        self.record.tokens_sha256 = "sha256:" + tokens.digest.hexdigest()
        self.record.index_sha256 = "sha256:" + rows.digest.hexdigest()
        with work_file(layout.unit_record(index), options) as out:
            out.write(self.record.to_json())
        return self.record

    def _documents(self, records: list[Record]) -> None:
        """Whole documents: cleaned, filtered and deduplicated as a batch, then queued."""
        if not records:
            return
        clean = self.settings.clean
        stats = self.record.clean
        cleaned = self.cleaner.clean_batch([record.text for record in records])
        low = clean.min_chars
        high = clean.max_chars if clean.max_chars is not None else float("inf")
        kept = [i for i, text in enumerate(cleaned) if low <= len(text) <= high]
        if len(kept) < len(cleaned):
            stats.too_short += sum(1 for text in cleaned if len(text) < low)
            stats.too_long += sum(1 for text in cleaned if len(text) > high)
        digests = [_NO_HASH] * len(kept)
        if clean.dedup:
            digests = [_blake2b(cleaned[i].encode(), digest_size=16).digest() for i in kept]
            unique = _first_occurrences(digests, self.seen)
            stats.duplicates += len(kept) - len(unique)
            if len(unique) < len(kept):
                kept = [kept[j] for j in unique]
                digests = [digests[j] for j in unique]
        self.rows.extend_documents(
            [cleaned[i] for i in kept],
            doc_ids(self.unit.source, [records[i].key for i in kept]).tolist(),
            digests,
        )

    def _part(self, record: Record) -> None:
        if record.part == 0:
            self.long = _LongDocument(int(doc_ids(self.unit.source, [record.key])[0]))
        long = self.long
        if long is None:  # pragma: no cover - the reader always starts with part 0
            raise FormatError(f"{self.unit.url}: a document part came without its start")
        clean = self.settings.clean
        text = self.cleaner(record.text, first=record.part == 0, last=record.last)
        long.hasher.update(text.encode())
        long.chars += len(text)
        if clean.max_chars is not None and long.chars > clean.max_chars:
            long.too_long = True
        if long.too_long:
            long.carry = ""
        elif not record.last:
            text = long.carry + text
            cut = cut_point(text, len(text))
            if cut is None:
                cut = len(text)
                self.record.read.unsafe_cuts += 1
            long.carry = text[cut:]
            self.rows.add(text[:cut], long.doc, last=False, keep=True, digest=_NO_HASH)
            long.emitted = True
        if record.last:
            self._finish_long(long, long.carry + ("" if long.too_long else text))
            self.long = None

    def _finish_long(self, long: _LongDocument, text: str) -> None:
        clean = self.settings.clean
        stats = self.record.clean
        digest = long.hasher.digest() if clean.dedup else _NO_HASH
        keep = False
        if long.too_long:
            stats.too_long += 1
        elif long.chars < clean.min_chars:
            stats.too_short += 1
        elif clean.dedup and digest in self.seen:
            stats.duplicates += 1
        else:
            keep = True
            if clean.dedup:
                self.seen.add(digest)
        if keep or long.emitted:
            self.rows.add(text if keep else "", long.doc, last=True, keep=keep, digest=digest)

    def _flush(self, writers: tuple[Any, Any]) -> None:
        rows = self.rows
        if not rows.texts:
            return
        tokens_batch, index_batch = encode_rows(rows, self.tokenizer, self.context)
        writers[0].write_batch(tokens_batch)
        writers[1].write_batch(index_batch)
        self.record.rows += len(rows)
        self.record.tokens += len(tokens_batch.column(0).values)
        self.rows = PendingRows()


def _first_occurrences(digests: list[bytes], seen: set[bytes]) -> list[int]:
    """Positions of the digests neither in `seen` nor earlier in the list; adds them to `seen`."""
    if seen.isdisjoint(digests) and len(set(digests)) == len(digests):  # the usual case, in C
        seen.update(digests)
        return list(range(len(digests)))
    first = []
    for position, digest in enumerate(digests):
        if digest not in seen:
            seen.add(digest)
            first.append(position)
    return first


def _record_limit(settings: PrepareSettings) -> int:
    """The longest JSON record parsed: the bytes the longest part could take, escaped."""
    return _JSON_BYTES_PER_CHAR * settings.max_document_chars


def process_unit(context: JobContext, unit: Unit) -> UnitRecord:
    """Run phase 1 for `unit`; its files and record land in the work folder atomically."""
    return _UnitWorker(context, unit, tokenizer_for(context)).run()
