"""Phase 1: one unit of input read, cleaned, filtered, hashed and tokenized into its files.

Whole documents go in batches: cleaning checks each step once per batch, doc ids are
computed for the batch at once, and the tokenizer encodes a batch per call. A document
longer than `max_document_chars` comes in parts; each part is cleaned as it comes, then cut
again where encoding the pieces equals encoding the whole, so its rows' tokens join to the
tokens of the cleaned document. Duplicates inside the unit are dropped here; across units,
in phase 2.

The native path: JSON lines and line-split text, cleaned with the default steps (any of
control characters, NFC and whitespace), go through the C pass of lmio.text._native_lines,
which reads, cleans and hashes whole runs of lines without the GIL, and the tokenizer then
encodes their UTF-8 as it is. Everything the pass leaves to Python (see there) takes the
Python path below, in file order, so the rows are the same either way; the Python path stays
the reference for all else (Parquet, paragraphs and whole files, lowercasing, categories,
NFKC). `LMIO_PREPARE_NATIVE=0` in the environment turns the native path off.

The dedup digest is XXH3-128 of the cleaned text's UTF-8 (csrc/digest.h), on every path: the C
pass, Python's whole documents and the parts of long ones. It only tells duplicates apart (the
first occurrence is kept); it is not cryptographic, and 128 bits make an accidental collision
negligible. (It was BLAKE2b-128, 8x slower; the shards do not depend on which.)

`doc_id` is splitmix64(h + key) modulo 2**64, where h is the first 8 bytes (little-endian)
of BLAKE2b-64 of the source name and key the document's byte offset in its file (or its
Parquet row number). splitmix64 is a bijection, so documents of one source never share an id.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lmio.errors import FormatError
from lmio.prepare._layout import Layout
from lmio.prepare._settings import JobContext, PrepareSettings
from lmio.prepare._tokenizers import begin_loading, check_tokenizer, tokenizer_for
from lmio.prepare._unit_files import (
    PendingRows,
    UnitRecord,
    encode_rows,
    utf8,
    work_file,
)
from lmio.store._shards import HashingWriter
from lmio.text._clean import Cleaner
from lmio.text._native_lines import (
    STEP_CONTROL,
    STEP_NFC,
    STEP_WHITESPACE,
    LineDocuments,
    NativeOptions,
)
from lmio.text._sources import (
    Record,
    cut_point,
    iter_native_batches,
    iter_record_batches,
    native_format,
)
from lmio.tokenizer import _native

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from lmio.prepare._inputs import Unit
    from lmio.tokenizer import Tokenizer

__all__ = ["doc_ids", "native_options", "process_unit"]

_BATCH_CHARS = 4_000_000
_BATCH_ROWS = 8192
_NO_HASH = bytes(16)
_JSON_BYTES_PER_CHAR = 12  # one character outside the BMP, escaped: \ud83d\ude00
_NATIVE_SWITCH = "LMIO_PREPARE_NATIVE"


def doc_ids(source: str, keys: Sequence[int] | npt.NDArray[Any]) -> npt.NDArray[np.uint64]:
    """The doc ids of the documents at `keys` of `source` (see the module notes)."""
    import numpy as np

    h = int.from_bytes(hashlib.blake2b(source.encode(), digest_size=8).digest(), "little")
    z = np.asarray(keys, dtype=np.uint64) + np.uint64(h)
    z += np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    result: npt.NDArray[np.uint64] = z ^ (z >> np.uint64(31))
    return result


def native_options(settings: PrepareSettings, url: str) -> NativeOptions | None:
    """How the C pass reads `url` under `settings`, or None when the Python path reads it."""
    clean = settings.clean
    kind = native_format(url, settings.split)
    if (
        os.environ.get(_NATIVE_SWITCH, "1") == "0"
        or kind is None
        or clean.lowercase
        or clean.keep_categories is not None
        or clean.normalization not in ("NFC", None)
    ):
        return None
    try:
        field = settings.text_field.encode("utf-8")
    except UnicodeEncodeError:
        return None
    steps = (
        (STEP_CONTROL if clean.remove_control else 0)
        | (STEP_NFC if clean.normalization == "NFC" else 0)
        | (STEP_WHITESPACE if clean.whitespace else 0)
    )
    return NativeOptions(json=kind == "jsonl", field=field, steps=steps, digest=clean.dedup)


class _LongDocument:
    """A document read in parts: cleaned and hashed as it comes, emitted in tokenizable pieces."""

    def __init__(self, doc: int) -> None:
        self.doc = doc
        self.hasher = _native.Digest()
        self.chars = 0
        self.carry = ""
        self.emitted = False
        self.too_long = False


class _UnitWorker:
    def __init__(self, context: JobContext, unit: Unit) -> None:
        self.context = context
        self.settings = context.settings
        self.unit = unit
        self.tokenizer: Tokenizer | None = None  # taken when first needed: it may still load
        self.record = UnitRecord(unit.index)
        self.cleaner = Cleaner(self.settings.clean, self.record.clean)
        self.seen = _native.DigestSet()
        self.rows = PendingRows()
        self.long: _LongDocument | None = None

    def run(self) -> UnitRecord:
        settings = self.settings
        unit = self.unit
        common: dict[str, Any] = {
            "split": settings.split,
            "on_invalid": settings.on_invalid,
            "strict": settings.strict,
            "stats": self.record.read,
            "storage_options": self.context.storage_options,
            "byte_range": unit.byte_range,
            "max_document_chars": settings.max_document_chars,
            "max_record_bytes": None if unit.in_memory else _record_limit(settings),
        }
        native = native_options(settings, unit.url)
        batches = (
            iter_record_batches(unit.url, text_field=settings.text_field, **common)
            if native is None
            else iter_native_batches(unit.url, native, **common)
        )
        layout = Layout(self.context.out)
        options = self.context.storage_options
        index = unit.index
        with (
            work_file(layout.unit_tokens(index), options) as tokens,
            work_file(layout.unit_index(index), options) as rows,
        ):
            sinks = (tokens, rows)
            whole: list[Record] = []
            chars = 0
            begin_loading(self.context)  # the tokenizer loads while this reads and cleans
            for batch in batches:
                records: list[Record] = []
                if isinstance(batch, LineDocuments):
                    self._documents(whole)
                    whole, chars = [], 0
                    self._line_documents(batch)
                else:
                    records = batch
                for record in records:
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
                if self.rows.bytes >= _BATCH_CHARS or len(self.rows) >= _BATCH_ROWS:
                    self._flush(sinks)
            self._documents(whole)
            self._flush(sinks)
            check_tokenizer(self.context)  # what was encoded is kept only with a sound tokenizer
        self.record.documents = self.record.read.documents
        self.record.tokens_checksum = tokens.checksum
        self.record.index_checksum = rows.checksum
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
        texts = [utf8(cleaned[i]) for i in kept]
        digests = [_NO_HASH] * len(kept)
        if clean.dedup:
            digests = [_native.digest(text) for text in texts]
            fresh = self.seen.add(b"".join(digests))
            stats.duplicates += len(kept) - sum(fresh)
            if not all(fresh):
                kept = [k for k, new in zip(kept, fresh, strict=True) if new]
                texts = [t for t, new in zip(texts, fresh, strict=True) if new]
                digests = [d for d, new in zip(digests, fresh, strict=True) if new]
        self._queue(texts, [records[i].key for i in kept], digests)

    def _queue(
        self, texts: list[bytes], keys: Sequence[int] | npt.NDArray[Any], digests: list[bytes]
    ) -> None:
        """Kept whole documents, as UTF-8, at `keys` of the unit's source."""
        import numpy as np

        if texts:
            self.rows.extend_documents(
                b"".join(texts),
                np.cumsum([len(text) for text in texts], dtype=np.int64),
                doc_ids(self.unit.source, keys),
                b"".join(digests),
            )

    def _line_documents(self, documents: LineDocuments) -> None:
        """Whole documents read by the C pass: as `_documents`, on its cleaned text."""
        import numpy as np

        clean = self.settings.clean
        stats = self.record.clean
        if len(documents.raw):
            documents = self._clean_raw(documents)
        stats.documents += documents.cleaned
        stats.control_chars += documents.control_chars
        stats.whitespace += documents.whitespace
        chars = documents.chars
        kept = chars >= clean.min_chars
        if clean.max_chars is not None:
            kept &= chars <= clean.max_chars
        n = len(documents)
        if not kept.all():
            stats.too_short += int((chars < clean.min_chars).sum())
            if clean.max_chars is not None:
                stats.too_long += int((chars > clean.max_chars).sum())
        positions = np.flatnonzero(kept)
        digests = documents.digests
        if clean.dedup:
            table = np.frombuffer(digests, dtype=np.uint8).reshape(-1, 16)
            candidates = table if len(positions) == n else table[positions]
            fresh = np.frombuffer(self.seen.add(candidates.data), dtype=np.bool_)
            stats.duplicates += len(positions) - int(fresh.sum())
            positions = positions[fresh]
        if len(positions) == n:
            self.rows.extend_documents(
                documents.text,
                documents.ends,
                doc_ids(self.unit.source, documents.keys),
                digests if clean.dedup else bytes(16 * n),
            )
            return
        ends = documents.ends
        starts = np.concatenate([np.zeros(1, dtype=np.int64), ends[:-1]])
        texts = [documents.text[starts[i] : ends[i]] for i in positions.tolist()]
        chosen = [digests[16 * i : 16 * i + 16] if clean.dedup else _NO_HASH for i in positions]
        self._queue(texts, documents.keys[positions], chosen)

    def _clean_raw(self, documents: LineDocuments) -> LineDocuments:
        """The documents whose cleaning the C pass left to Python, cleaned here (and counted
        by the cleaner), put back in their places."""
        import numpy as np

        ends = documents.ends
        raw = documents.raw.tolist()
        text = documents.text
        spans = [(int(ends[i - 1]) if i else 0, int(ends[i])) for i in raw]
        cleaned = self.cleaner.clean_batch([text[a:b].decode() for a, b in spans])
        pieces: list[bytes] = []  # the text between the raw documents, and theirs cleaned
        done = 0
        growth = np.zeros(len(ends), dtype=np.int64)
        chars = documents.chars.copy()
        digests = bytearray(documents.digests)
        for i, (start, end), clean_text in zip(raw, spans, cleaned, strict=True):
            data = utf8(clean_text)
            pieces += [text[done:start], data]
            done = end
            growth[i] = len(data) - (end - start)
            chars[i] = len(clean_text)
            if self.settings.clean.dedup:
                digests[16 * i : 16 * i + 16] = _native.digest(data)
        pieces.append(text[done:])
        return LineDocuments(
            keys=documents.keys,
            text=b"".join(pieces),
            ends=ends + np.cumsum(growth),
            chars=chars,
            digests=bytes(digests),
            raw=np.zeros(0, dtype=np.intp),
            cleaned=documents.cleaned,
            control_chars=documents.control_chars,
            whitespace=documents.whitespace,
        )

    def _part(self, record: Record) -> None:
        if record.part == 0:
            self.long = _LongDocument(int(doc_ids(self.unit.source, [record.key])[0]))
        long = self.long
        if long is None:  # pragma: no cover - the reader always starts with part 0
            raise FormatError(f"{self.unit.url}: a document part came without its start")
        clean = self.settings.clean
        text = self.cleaner(record.text, first=record.part == 0, last=record.last)
        long.hasher.update(utf8(text))
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
        elif clean.dedup and not self.seen.add(digest)[0]:
            stats.duplicates += 1
        else:
            keep = True
        if keep or long.emitted:
            self.rows.add(text if keep else "", long.doc, last=True, keep=keep, digest=digest)

    def _flush(self, sinks: tuple[HashingWriter, HashingWriter]) -> None:
        rows = self.rows
        if not len(rows):
            return
        if self.tokenizer is None:
            self.tokenizer = tokenizer_for(self.context)
        for tokens, index in encode_rows(rows, self.tokenizer, self.context):
            sinks[0].write(tokens.view("u1"))
            sinks[1].write(index.view("u1"))
            self.record.rows += len(index)
            self.record.tokens += len(tokens)
        self.rows = PendingRows()


def _record_limit(settings: PrepareSettings) -> int:
    """The longest JSON record parsed: the bytes the longest part could take, escaped."""
    return _JSON_BYTES_PER_CHAR * settings.max_document_chars


def process_unit(context: JobContext, unit: Unit) -> UnitRecord:
    """Run phase 1 for `unit`; its files and record land in the work folder atomically."""
    return _UnitWorker(context, unit).run()
