"""The files phase 1 leaves for phase 2: a unit's rows, their index, and its record.

`<unit>.tokens.bin` holds the tokens of a unit's rows back to back (little-endian uint16 or
uint32, as the shards store them; EOS appended to a document's last row); a row is a
document, or a part of a long one. `<unit>.index.bin` holds a fixed record per row
(`INDEX_DTYPE`): `doc_id`, `n_tokens`, `last` (the document's final row), `keep` (false when
the document was dropped after some of its rows were written) and `hash` (of the cleaned
text, on last rows). `<unit>.json`, written last, records the unit's counts and the two
files' XXH3-128: a unit whose record parses and whose files match it is done.

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
from lmio.store._checksums import XXH3
from lmio.store._files import checksum_file, is_local, open_output_atomic, read_bytes
from lmio.store._shards import HashingWriter
from lmio.text._clean import CleanStats
from lmio.text._sources import ReadStats

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from lmio.tokenizer import Tokenizer

__all__ = [
    "PendingRows",
    "UnitData",
    "UnitRecord",
    "encode_rows",
    "index_dtype",
    "load_unit_record",
    "read_unit_data",
    "read_unit_index",
    "token_dtype",
    "work_file",
]


@dataclass
class UnitRecord:
    """What a finished unit produced; stored as `<unit>.json`."""

    index: int
    rows: int = 0
    tokens: int = 0
    documents: int = 0  # documents read (before filters)
    tokens_checksum: str = ""
    index_checksum: str = ""
    read: ReadStats = field(default_factory=ReadStats)
    clean: CleanStats = field(default_factory=CleanStats)

    def to_json(self) -> bytes:
        body = {
            "index": self.index,
            "rows": self.rows,
            "tokens": self.tokens,
            "documents": self.documents,
            "tokens_checksum": self.tokens_checksum,
            "index_checksum": self.index_checksum,
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
            tokens_checksum=str(body["tokens_checksum"]),
            index_checksum=str(body["index_checksum"]),
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
        intact = record.index == index and all(
            checksum_file(url, algorithm=XXH3, storage_options=options) == recorded
            for url, recorded in (
                (layout.unit_tokens(index), record.tokens_checksum),
                (layout.unit_index(index), record.index_checksum),
            )
        )
    except (OSError, ValueError, KeyError):
        return None
    return record if intact else None


@contextlib.contextmanager
def work_file(url: str, storage_options: dict[str, Any] | None) -> Iterator[HashingWriter]:
    """A stream whose bytes appear at `url` (renamed into place, not synced) if the block ends
    without error; its `checksum` is then the XXH3-128 of what was written."""
    if not is_local(url):
        with open_output_atomic(url, storage_options=storage_options) as raw:
            yield HashingWriter(raw, algorithm=XXH3)
        return
    target = Path(url[len("file://") :] if url.startswith("file://") else url)
    if not target.parent.is_dir():
        target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as raw:
            yield HashingWriter(raw, algorithm=XXH3)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


class PendingRows:
    """Rows waiting to be tokenized and written, in order: their text as UTF-8, and what the
    index records about them."""

    def __init__(self) -> None:
        self._texts: list[bytes] = []
        self._ends: list[npt.NDArray[np.int64]] = []  # each text's row ends, from 0
        self._doc_ids: list[npt.NDArray[np.uint64]] = []
        self._last: list[npt.NDArray[np.bool_]] = []
        self._keep: list[npt.NDArray[np.bool_]] = []
        self._hashes: list[bytes] = []
        self.rows = 0
        self.bytes = 0

    def add(self, text: str, doc: int, *, last: bool, keep: bool, digest: bytes) -> None:
        """One row."""
        import numpy as np

        data = utf8(text)
        self._append(
            data,
            np.array([len(data)], dtype=np.int64),
            np.array([doc], dtype=np.uint64),
            last=np.array([last]),
            keep=np.array([keep]),
            digests=digest,
        )

    def extend_documents(
        self,
        text: bytes,
        ends: npt.NDArray[np.int64],
        doc_ids: npt.NDArray[np.uint64],
        digests: bytes,
    ) -> None:
        """Whole documents, back to back in `text` (document i ends at `ends[i]`): each its
        own last row, kept."""
        import numpy as np

        n = len(ends)
        if n:
            flags = np.ones(n, dtype=bool)
            self._append(text, ends, doc_ids, last=flags, keep=flags, digests=digests)

    def _append(
        self,
        text: bytes,
        ends: npt.NDArray[np.int64],
        doc_ids: npt.NDArray[np.uint64],
        *,
        last: npt.NDArray[np.bool_],
        keep: npt.NDArray[np.bool_],
        digests: bytes,
    ) -> None:
        self._texts.append(text)
        self._ends.append(ends)
        self._doc_ids.append(doc_ids)
        self._last.append(last)
        self._keep.append(keep)
        self._hashes.append(digests)
        self.rows += len(ends)
        self.bytes += len(text)

    def __len__(self) -> int:
        return self.rows


def utf8(text: str) -> bytes:
    """A row's UTF-8. Lone surrogates cannot be UTF-8: they are tokenized as U+FFFD, as the
    tokenizer does for str (the readers never let one through)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode("utf-8")


def token_dtype(context: JobContext) -> np.dtype[Any]:
    import numpy as np

    return np.dtype("<u2" if context.token_type == "uint16" else "<u4")


def index_dtype() -> np.dtype[Any]:
    """A row of `<unit>.index.bin`: 32 bytes, little-endian."""
    import numpy as np

    return np.dtype(
        [
            ("doc_id", "<u8"),
            ("n_tokens", "<u4"),
            ("last", "u1"),
            ("keep", "u1"),
            ("pad", "V2"),
            ("hash", "u1", (16,)),
        ]
    )


def encode_rows(
    rows: PendingRows, tokenizer: Tokenizer, context: JobContext
) -> Iterator[tuple[npt.NDArray[Any], npt.NDArray[Any]]]:
    """Tokenize the rows (EOS after each document's last row): for each batch of them as they
    were queued, the tokens for `<unit>.tokens.bin` and the records for `<unit>.index.bin`.

    Special-token text in documents is ordinary text: only the appended EOS is a control token.
    """
    import numpy as np

    dtype = token_dtype(context)
    eos = context.eos_id
    for text, ends, ids, last, keep, hashes in zip(
        rows._texts, rows._ends, rows._doc_ids, rows._last, rows._keep, rows._hashes, strict=True
    ):
        offsets = np.zeros(len(ends) + 1, dtype=np.int64)
        offsets[1:] = ends
        flat, token_offsets = tokenizer.encode_utf8_batch_to_numpy(
            text,
            offsets,
            num_threads=1,
            append_id=eos,
            append=last if eos is not None else None,
            dtype=context.token_type,
        )
        values = flat.astype(dtype, copy=False)  # little-endian: the same array here
        counts = np.diff(token_offsets)
        index = np.zeros(len(ends), dtype=index_dtype())
        index["doc_id"] = ids
        index["n_tokens"] = counts
        index["last"] = last
        index["keep"] = keep
        index["hash"] = np.frombuffer(hashes, dtype=np.uint8).reshape(-1, 16)
        yield values, index


def _path(url: str) -> str:
    return url[len("file://") :] if url.startswith("file://") else url


def _read_array(url: str, dtype: np.dtype[Any], storage_options: dict[str, Any] | None) -> Any:
    """A work file as an array (memory-mapped when local); FormatError when its size does not
    fit the dtype."""
    import numpy as np

    if is_local(url):
        path = _path(url)
        size = os.path.getsize(path)
        if size % dtype.itemsize:
            raise _damaged(url)
        if size == 0:
            return np.zeros(0, dtype=dtype)
        return np.memmap(path, dtype=dtype, mode="r")
    data = read_bytes(url, storage_options=storage_options)
    if len(data) % dtype.itemsize:
        raise _damaged(url)
    return np.frombuffer(data, dtype=dtype)


def _damaged(url: str) -> FormatError:
    return FormatError(f"{url} is damaged; delete the work folder it is in and rerun")


def read_unit_index(
    context: JobContext, unit: int, storage_options: dict[str, Any] | None
) -> npt.NDArray[Any]:
    """A unit's index records; FormatError when they end inside a document."""
    url = Layout(context.out).unit_index(unit)
    index: npt.NDArray[Any] = _read_array(url, index_dtype(), storage_options)
    if len(index) and not index["last"][-1]:
        raise FormatError(
            f"{url} ends inside a document; the work folder is damaged: delete "
            f"{Layout(context.out).work} and rerun"
        )
    return index


@dataclass
class UnitData:
    """A unit's rows, read back: row `i` has the tokens `tokens[offsets[i]:offsets[i + 1]]`."""

    index: npt.NDArray[Any]
    tokens: npt.NDArray[Any]
    offsets: npt.NDArray[np.int64]


def read_unit_data(context: JobContext, unit: int) -> UnitData:
    import numpy as np

    options = context.storage_options
    index = read_unit_index(context, unit, options)
    url = Layout(context.out).unit_tokens(unit)
    tokens = _read_array(url, token_dtype(context), options)
    offsets = np.zeros(len(index) + 1, dtype=np.int64)
    np.cumsum(index["n_tokens"], out=offsets[1:])
    if int(offsets[-1]) != len(tokens):
        raise _damaged(url)
    return UnitData(index=index, tokens=tokens, offsets=offsets)
