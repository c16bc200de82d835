"""What a prepare run read, changed, dropped and wrote: a dataclass and its printed table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lmio._units import format_bytes, format_duration
from lmio.text._clean import CleanStats
from lmio.text._sources import ReadStats

__all__ = ["PrepareReport"]


@dataclass
class PrepareReport:
    """Counts of one `prepare` run; `counts()` is the part recorded in the manifest."""

    out: str
    engine: str = ""
    files: int = 0
    input_bytes: int = 0
    read: ReadStats = field(default_factory=ReadStats)
    clean: CleanStats = field(default_factory=CleanStats)
    documents: int = 0
    rows: int = 0
    tokens: int = 0
    token_bytes: int = 0
    shards: int = 0
    output_bytes: int = 0
    units: int = 0
    units_resumed: int = 0
    shards_resumed: int = 0
    seconds: float = 0.0
    # setup (tokenizer, workers, inputs), tokenize (phase 1), plan, write (shards, manifest)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    already_complete: bool = False

    @property
    def megabytes_per_second(self) -> float:
        """Input megabytes (10^6 bytes) per second of this run."""
        return self.input_bytes / 1e6 / self.seconds if self.seconds > 0 else 0.0

    @property
    def compression_ratio(self) -> float:
        """Raw token bytes over shard bytes."""
        return self.token_bytes / self.output_bytes if self.output_bytes else 0.0

    def counts(self) -> dict[str, Any]:
        """Everything counted, nothing about timing or resuming: the same for any run."""
        return {
            "files": self.files,
            "input_bytes": self.input_bytes,
            "read": self.read.to_dict(),
            "clean": self.clean.to_dict(),
        }

    @classmethod
    def from_counts(cls, out: str, counts: dict[str, Any], totals: dict[str, Any]) -> PrepareReport:
        return cls(
            out=out,
            files=int(counts.get("files", 0)),
            input_bytes=int(counts.get("input_bytes", 0)),
            read=ReadStats.from_dict(counts.get("read", {})),
            clean=CleanStats.from_dict(counts.get("clean", {})),
            documents=int(totals.get("documents", 0)),
            rows=int(totals.get("rows", 0)),
            tokens=int(totals.get("tokens", 0)),
            shards=int(totals.get("shards", 0)),
            output_bytes=int(totals.get("bytes", 0)),
            already_complete=True,
        )

    def _stages(self) -> str:
        return ", ".join(
            f"{name} {format_duration(seconds)}" for name, seconds in self.stage_seconds.items()
        )

    def as_rows(self) -> list[tuple[str, object]]:
        read, clean = self.read, self.clean
        rows: list[tuple[str, object]] = [
            ("output", self.out),
            ("input files", self.files),
            ("input bytes", format_bytes(self.input_bytes)),
            ("documents read", read.documents),
        ]
        optional = [
            ("invalid UTF-8 sequences replaced", read.invalid_utf8),
            ("malformed records skipped", read.malformed_records),
            ("records without the text field", read.missing_text),
            ("oversized records skipped", read.oversized_records),
            ("binary files skipped", read.binary_files),
            ("empty files", read.empty_files),
            ("unreadable files skipped", read.unreadable_files),
            ("long documents split into rows", read.split_documents),
            ("cuts not at a word boundary", read.unsafe_cuts),
            ("control characters removed", clean.control_chars),
            ("documents Unicode-normalised", clean.normalized),
            ("documents lowercased", clean.lowercased),
            ("characters outside kept categories", clean.category_chars),
            ("documents with whitespace normalised", clean.whitespace),
            ("dropped: too short", clean.too_short),
            ("dropped: too long", clean.too_long),
            ("dropped: duplicates", clean.duplicates),
        ]
        rows.extend((name, value) for name, value in optional if value)
        rows += [
            ("documents written", self.documents),
            ("tokens written", self.tokens),
            ("shards", self.shards),
            ("shard bytes", format_bytes(self.output_bytes)),
        ]
        if self.token_bytes and self.output_bytes:
            rows.append(("compression ratio", f"{self.compression_ratio:.2f}x"))
        if self.already_complete:
            rows.append(("status", "already complete: nothing to do"))
            return rows
        if self.units_resumed or self.shards_resumed:
            rows.append(
                (
                    "resumed",
                    f"{self.units_resumed} of {self.units} units, {self.shards_resumed} of {self.shards} shards done before",
                )
            )
        rows += [
            ("engine", self.engine),
            ("time", f"{format_duration(self.seconds)} ({self._stages()})"),
            ("throughput", f"{self.megabytes_per_second:.2f} MB/s of input"),
        ]
        return rows
