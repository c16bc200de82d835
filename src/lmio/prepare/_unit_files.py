"""The files phase 1 leaves for phase 2: a unit's rows, their index, and its record.

`<unit>.tokens.arrow` (Arrow IPC) holds a row per document, or per part of a long one:
`tokens` (EOS appended to a document's last row) and `doc_id`. `<unit>.index.arrow` holds
what phase 2 plans with, per row: `n_tokens`, `last` (the document's final row), `keep`
(false when the document was dropped after some of its rows were written) and `hash` (of the
cleaned text, on last rows). `<unit>.json`, written last, records the unit's counts and the
two files' sha256: a unit whose record parses and whose files match it is done.

Work files are renamed into place but not synced to disk: after a crash, a file that lost
its content fails its checksum and its unit runs again. Only the shards and the manifest,
the dataset itself, are synced.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmio.errors import FormatError
from lmio.prepare._layout import Layout
from lmio.prepare._settings import JobContext
from lmio.store._files import is_local, open_output_atomic, read_bytes, sha256_file
from lmio.store._shards import HashingWriter
from lmio.text._clean import CleanStats
from lmio.text._sources import ReadStats

if TYPE_CHECKING:
    import pyarrow as pa

    from lmio.tokenizer import Tokenizer

__all__ = [
    "PendingRows",
    "UnitRecord",
    "encode_rows",
    "load_unit_record",
    "open_writers",
    "read_unit_file",
    "work_file",
]


@dataclass
class UnitRecord:
    """What a finished unit produced; stored as `<unit>.json`."""

    index: int
    rows: int = 0
    tokens: int = 0
    documents: int = 0  # documents read (before filters)
    tokens_sha256: str = ""
    index_sha256: str = ""
    read: ReadStats = field(default_factory=ReadStats)
    clean: CleanStats = field(default_factory=CleanStats)

    def to_json(self) -> bytes:
        body = {
            "index": self.index,
            "rows": self.rows,
            "tokens": self.tokens,
            "documents": self.documents,
            "tokens_sha256": self.tokens_sha256,
            "index_sha256": self.index_sha256,
            "read": self.read.to_dict(),
            "clean": self.clean.to_dict(),
        }
        return json.dumps(body, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> UnitRecord:
        body = json.loads(data)
        return cls(
            index=int(body["index"]),
            rows=int(body["rows"]),
            tokens=int(body["tokens"]),
            documents=int(body["documents"]),
            tokens_sha256=str(body["tokens_sha256"]),
            index_sha256=str(body["index_sha256"]),
            read=ReadStats.from_dict(body["read"]),
            clean=CleanStats.from_dict(body["clean"]),
        )


def load_unit_record(context: JobContext, index: int) -> UnitRecord | None:
    """The record of a finished unit whose files match it, else None."""
    layout = Layout(context.out)
    options = context.storage_options
    try:
        record = UnitRecord.from_json(
            read_bytes(layout.unit_record(index), storage_options=options)
        )
        intact = (
            record.index == index
            and sha256_file(layout.unit_tokens(index), storage_options=options)
            == record.tokens_sha256
            and sha256_file(layout.unit_index(index), storage_options=options)
            == record.index_sha256
        )
    except (OSError, ValueError, KeyError):
        return None
    return record if intact else None


@contextlib.contextmanager
def work_file(url: str, storage_options: dict[str, Any] | None) -> Iterator[HashingWriter]:
    """A stream whose bytes appear at `url` (renamed into place, not synced) if the block ends
    without error; its `digest` is then the sha256 of what was written."""
    if not is_local(url):
        with open_output_atomic(url, storage_options=storage_options) as raw:
            yield HashingWriter(raw)
        return
    target = Path(url[len("file://") :] if url.startswith("file://") else url)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as raw:
            yield HashingWriter(raw)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


class PendingRows:
    """Rows waiting to be tokenized and written, in order."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.doc_ids: list[int] = []
        self.last: list[bool] = []
        self.keep: list[bool] = []
        self.hashes: list[bytes] = []
        self.chars = 0

    def add(self, text: str, doc: int, *, last: bool, keep: bool, digest: bytes) -> None:
        self.texts.append(text)
        self.doc_ids.append(doc)
        self.last.append(last)
        self.keep.append(keep)
        self.hashes.append(digest)
        self.chars += len(text)

    def extend_documents(self, texts: list[str], doc_ids: list[int], digests: list[bytes]) -> None:
        """Whole documents: each its own last row, kept."""
        self.texts += texts
        self.doc_ids += doc_ids
        self.last += [True] * len(texts)
        self.keep += [True] * len(texts)
        self.hashes += digests
        self.chars += sum(map(len, texts))

    def __len__(self) -> int:
        return len(self.texts)


def _schemas(context: JobContext) -> tuple[pa.Schema, pa.Schema]:
    import pyarrow as pa

    item = pa.uint16() if context.token_type == "uint16" else pa.uint32()
    tokens = pa.schema([("tokens", pa.list_(item)), ("doc_id", pa.uint64())])
    index = pa.schema(
        [
            ("n_tokens", pa.uint32()),
            ("last", pa.bool_()),
            ("keep", pa.bool_()),
            ("hash", pa.binary(16)),
        ]
    )
    return tokens, index


def open_writers(tokens_sink: Any, index_sink: Any, context: JobContext) -> tuple[Any, Any]:
    """IPC file writers for the unit's two files, on open binary streams."""
    import pyarrow as pa

    tokens_schema, index_schema = _schemas(context)
    return (
        pa.ipc.new_file(pa.PythonFile(tokens_sink, mode="w"), tokens_schema),
        pa.ipc.new_file(pa.PythonFile(index_sink, mode="w"), index_schema),
    )


def encode_rows(
    rows: PendingRows, tokenizer: Tokenizer, context: JobContext
) -> tuple[pa.RecordBatch, pa.RecordBatch]:
    """Tokenize the rows (EOS after each document's last row) into the two files' batches.

    Special-token text in documents is ordinary text: only the appended EOS is a control token.
    """
    import numpy as np
    import pyarrow as pa

    flat, offsets = tokenizer.encode_batch_to_numpy(
        rows.texts, num_threads=1, disallowed_special=()
    )
    last = np.array(rows.last, dtype=bool)
    dtype = np.uint16 if context.token_type == "uint16" else np.uint32
    values = flat.astype(dtype, copy=False)
    if context.eos_id is not None and last.any():
        ends = offsets[1:][last]
        values = np.insert(values, ends, np.asarray(context.eos_id, dtype=dtype))
        offsets = offsets + np.concatenate([[0], np.cumsum(last)])
    tokens_schema, index_schema = _schemas(context)
    lists = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(values))
    tokens_batch = pa.record_batch(
        [lists, pa.array(rows.doc_ids, type=pa.uint64())], schema=tokens_schema
    )
    index_batch = pa.record_batch(
        [
            pa.array(np.diff(offsets).astype(np.uint32)),
            pa.array(last),
            pa.array(rows.keep, type=pa.bool_()),
            pa.array(rows.hashes, type=pa.binary(16)),
        ],
        schema=index_schema,
    )
    return tokens_batch, index_batch


def read_unit_file(url: str, storage_options: dict[str, Any] | None) -> pa.Table:
    """A unit file as a table (memory-mapped when local, so untouched columns cost nothing)."""
    import pyarrow as pa

    source: Any
    if is_local(url):
        source = pa.memory_map(url[len("file://") :] if url.startswith("file://") else url)
    else:
        source = pa.BufferReader(read_bytes(url, storage_options=storage_options))
    try:
        return pa.ipc.open_file(source).read_all()
    except pa.ArrowInvalid as exc:
        raise FormatError(
            f"{url} is damaged ({exc}); delete the work folder it is in and rerun"
        ) from None
