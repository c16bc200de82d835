"""Inputs and units: the files to read, in global order, cut into independent pieces of work.

The global document order is the order of `expand_inputs` (sorted), then file order. A unit
is a whole file, or a byte range of a large uncompressed JSON-lines or line-split text file;
units depend on the inputs and `unit_bytes` only, never on the worker count.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from lmio.errors import InvalidArgumentError
from lmio.store._files import size
from lmio.text._sources import SplitMode, expand_inputs, splittable

__all__ = ["Documents", "InputFile", "Unit", "list_inputs", "plan_units", "spool_documents"]


class Documents:
    """An in-memory corpus for `prepare`: an iterable of str, labelled `name` in `source`.

    Document `i` gets the key of its line in the spooled JSON-lines file, so its `doc_id` is
    stable for the same documents in the same order.
    """

    def __init__(self, texts: Iterable[str], *, name: str = "documents") -> None:
        if isinstance(texts, str):
            raise InvalidArgumentError(
                "Documents takes an iterable of texts, got one str; wrap it: Documents([text])"
            )
        if not name:
            raise InvalidArgumentError("Documents needs a non-empty name")
        self.texts = texts
        self.name = name


@dataclass(frozen=True)
class InputFile:
    """One file to read: `url` where its bytes are, `source` what the shards call it."""

    url: str
    source: str
    bytes: int
    checksum: str | None = None  # recorded for spooled in-memory documents

    @property
    def in_memory(self) -> bool:
        """Spooled in-memory documents: the caller held each whole, so they are read whole."""
        return self.checksum is not None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"source": self.source, "bytes": self.bytes}
        if self.checksum is not None:
            data["checksum"] = self.checksum
        return data


@dataclass(frozen=True)
class Unit:
    """A piece of phase-1 work: a file, or the records starting in [start, end) of one."""

    index: int
    url: str
    source: str
    start: int
    end: int | None  # None: to the end of the file, which is then read whole
    bytes: int
    in_memory: bool = False

    @property
    def byte_range(self) -> tuple[int, int] | None:
        return None if self.end is None else (self.start, self.end)


def list_inputs(
    inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    storage_options: dict[str, Any] | None = None,
) -> list[InputFile]:
    urls = expand_inputs(inputs, storage_options=storage_options)
    return [
        InputFile(url=url, source=url, bytes=size(url, storage_options=storage_options))
        for url in urls
    ]


def spool_documents(documents: Documents) -> tuple[str, InputFile]:
    """Write the documents as JSON lines to a local temporary file; (its path, its InputFile).

    The caller moves the file where workers can read it and removes it when done.
    """
    digest = hashlib.sha256()
    count = 0
    fd, path = tempfile.mkstemp(prefix="lmio-documents-", suffix=".jsonl")
    try:
        with os.fdopen(fd, "wb") as out:
            for text in documents.texts:
                if not isinstance(text, str):
                    raise InvalidArgumentError(
                        f"Documents holds a {type(text).__name__} at position {count}; "
                        "every document must be a str"
                    )
                line = (json.dumps({"text": text}) + "\n").encode("utf-8")
                digest.update(line)
                out.write(line)
                count += 1
    except BaseException:
        os.unlink(path)
        raise
    spooled = InputFile(
        url=path,
        source=documents.name,
        bytes=os.path.getsize(path),
        checksum="sha256:" + digest.hexdigest(),
    )
    return path, spooled


def plan_units(files: Sequence[InputFile], *, split: SplitMode, unit_bytes: int) -> list[Unit]:
    units: list[Unit] = []
    for file in files:
        ranges: list[tuple[int, int | None, int]] = [(0, None, file.bytes)]
        if file.bytes > unit_bytes and splittable(file.url, split):
            ranges = [
                (start, min(start + unit_bytes, file.bytes), min(unit_bytes, file.bytes - start))
                for start in range(0, file.bytes, unit_bytes)
            ]
        for start, end, length in ranges:
            units.append(
                Unit(len(units), file.url, file.source, start, end, length, file.in_memory)
            )
    return units
