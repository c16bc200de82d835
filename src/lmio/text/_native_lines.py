"""The C pass over runs of whole lines (csrc/prepare.h), and what it leaves to Python.

For JSON lines and line-split text, the C core reads each line of a run (the text field of a
JSON object, or the line itself), cleans it with the default steps and hashes it, all without
the GIL. What it does not settle for certain it hands back: a line Python must read (malformed
JSON, a missing or non-string field, escaped lone surrogates, a record over the size limit, a
document long enough to be cut into parts), a document whose NFC normalisation Python must do,
a run that is not valid UTF-8. Python reads those exactly as the reader always has, so the
documents, their order and every count are the same as the Python reader's.

The dedup digest is the same in both: XXH3-128 of the cleaned text's UTF-8 (csrc/digest.h).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["STEP_CONTROL", "STEP_NFC", "STEP_WHITESPACE", "LineDocuments", "NativeOptions"]

# Cleaning steps of the C pass (csrc/clean.h).
STEP_CONTROL = 1
STEP_NFC = 2
STEP_WHITESPACE = 4

_CLEAN, _RAW, _LINE = 0, 1, 2  # LMIO_DOC_*: cleaned in C, cleaned by Python, read by Python
_JSONL, _TEXT_LINES = 0, 1


@dataclass(frozen=True)
class NativeOptions:
    """What the C pass does: JSON lines (`field`, UTF-8) or text lines, which cleaning steps
    (STEP_* bits), and whether it computes the dedup digests."""

    json: bool
    field: bytes
    steps: int
    digest: bool


@dataclass
class LineDocuments:
    """Consecutive documents read by the C pass, in file order.

    Document `i` starts at byte `keys[i]` of the file; its text is `text[ends[i - 1]:ends[i]]`
    (from 0 for the first), cleaned, with `chars[i]` code points and digest
    `digests[16 * i:16 * i + 16]` (zeros when not asked for); except the documents at the
    positions `raw`, whose text is as read: Python cleans those (and counts their cleaning).
    `cleaned`, `control_chars` and `whitespace` are what the cleaning of the others counts.
    """

    keys: npt.NDArray[np.int64]
    text: bytes
    ends: npt.NDArray[np.int64]
    chars: npt.NDArray[np.int64]
    digests: bytes
    raw: npt.NDArray[np.intp]
    cleaned: int = 0
    control_chars: int = 0
    whitespace: int = 0

    def __len__(self) -> int:
        return len(self.keys)


@dataclass
class _Result:
    status: npt.NDArray[np.uint8]
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]
    text_ends: npt.NDArray[np.int64]
    chars: npt.NDArray[np.int64]
    digests: bytes
    text: bytes
    documents: int
    cleaned: int
    control_chars: int
    whitespace: int

    def parts(self, offset: int) -> Iterator[LineDocuments | list[tuple[int, int]]]:
        """The run in order: documents read in C, and the (start, end) in the run of each line
        that Python reads; `offset` is the run's file offset."""
        import numpy as np

        status = self.status
        python = np.flatnonzero(status == _LINE)
        counted = False
        start = 0
        for stop in [*python.tolist(), len(status)]:
            if stop > start:
                base = int(self.text_ends[start - 1]) if start else 0
                end = int(self.text_ends[stop - 1])
                documents = LineDocuments(
                    keys=self.starts[start:stop] + offset,
                    text=self.text[base:end] if (base, end) != (0, len(self.text)) else self.text,
                    ends=self.text_ends[start:stop] - base,
                    chars=self.chars[start:stop],
                    digests=self.digests[16 * start : 16 * stop],
                    raw=np.flatnonzero(status[start:stop] == _RAW),
                )
                if not counted:  # the run's counts go with its first documents
                    documents.cleaned = self.cleaned
                    documents.control_chars = self.control_chars
                    documents.whitespace = self.whitespace
                    counted = True
                yield documents
            if stop < len(status):
                run = [(int(self.starts[stop]), int(self.ends[stop]))]
                yield run
            start = stop + 1


def read_lines(
    data: bytes, options: NativeOptions, *, max_line_bytes: int | None, max_chars: int | None
) -> _Result | None:
    """The C pass over `data`, whole lines; None when it is not valid UTF-8."""
    import numpy as np

    from lmio.tokenizer import _native

    result = _native.prepare_lines(
        data,
        _JSONL if options.json else _TEXT_LINES,
        options.field,
        options.steps,
        options.digest,
        -1 if max_line_bytes is None else max_line_bytes,
        -1 if max_chars is None else max_chars,
    )
    if result is None:
        return None
    _, status, starts, ends, text_ends, chars, digests, text, counts = result
    documents, cleaned, control_chars, whitespace = counts
    return _Result(
        status=np.frombuffer(status, dtype=np.uint8),
        starts=np.frombuffer(starts, dtype=np.int64),
        ends=np.frombuffer(ends, dtype=np.int64),
        text_ends=np.frombuffer(text_ends, dtype=np.int64),
        chars=np.frombuffer(chars, dtype=np.int64),
        digests=digests,
        text=text,
        documents=documents,
        cleaned=cleaned,
        control_chars=control_chars,
        whitespace=whitespace,
    )
