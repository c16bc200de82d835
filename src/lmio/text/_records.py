"""What readers produce: documents with their keys, and the counts of what reading found."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal, NamedTuple

__all__ = ["OnInvalid", "ReadStats", "Record", "SplitMode"]

SplitMode = Literal["file", "line", "paragraph"]
OnInvalid = Literal["replace", "error"]


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

    `key` says where the document starts: its byte offset in the (decompressed) file for
    text and JSON lines, its row number for Parquet. The parts of a document share its key,
    are numbered from 0 and only the final one has `last=True`; joined, they are the document.
    """

    key: int
    text: str
    part: int = 0
    last: bool = True
