"""What a prepare run is asked to do: the settings that decide the bytes of the shards.

Two runs with equal settings, inputs and tokenizer write the same dataset; a rerun with
equal ones continues an interrupted run, and one with different ones is refused. The worker
count and the engine are not settings: they change how fast, never what.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lmio.errors import InvalidArgumentError
from lmio.store._shards import TokenType
from lmio.text._clean import CleanOptions
from lmio.text._sources import OnInvalid, SplitMode

__all__ = ["JobContext", "PrepareSettings"]

MIN_SHARD_BYTES = 1 << 10
MIN_UNIT_BYTES = 1 << 10


@dataclass(frozen=True)
class PrepareSettings:
    """The options of `prepare` that shape its output (see `prepare` for each)."""

    text_field: str = "text"
    split: SplitMode = "file"
    on_invalid: OnInvalid = "replace"
    strict: bool = False
    clean: CleanOptions = field(default_factory=CleanOptions)
    append_eos: bool = True
    shard_bytes: int = 128_000_000
    row_group_tokens: int = 1 << 20
    max_document_chars: int = 1 << 22

    def __post_init__(self) -> None:
        if self.split not in ("file", "line", "paragraph"):
            raise InvalidArgumentError(
                f"split must be 'file', 'line' or 'paragraph', got {self.split!r}"
            )
        if self.on_invalid not in ("replace", "error"):
            raise InvalidArgumentError(
                f"on_invalid must be 'replace' or 'error', got {self.on_invalid!r}"
            )
        if not self.text_field:
            raise InvalidArgumentError("text_field must name a field, got ''")
        if self.shard_bytes < MIN_SHARD_BYTES:
            raise InvalidArgumentError(
                f"shard size {self.shard_bytes} bytes is too small; use at least "
                f"{MIN_SHARD_BYTES} (the default, 128MB, suits most loaders)"
            )
        if self.row_group_tokens < 1:
            raise InvalidArgumentError(
                f"row_group_tokens must be at least 1, got {self.row_group_tokens}"
            )
        if self.max_document_chars < 2:
            raise InvalidArgumentError(
                f"max_document_chars must be at least 2, got {self.max_document_chars}"
            )

    def to_dict(self) -> dict[str, Any]:
        """The settings, all of which decide the output's bytes."""
        return {
            "text_field": self.text_field,
            "split": self.split,
            "on_invalid": self.on_invalid,
            "strict": self.strict,
            "clean": self.clean.to_dict(),
            "append_eos": self.append_eos,
            "shard_bytes": self.shard_bytes,
            "row_group_tokens": self.row_group_tokens,
            "max_document_chars": self.max_document_chars,
        }


@dataclass(frozen=True)
class JobContext:
    """Everything a task needs besides its own unit or shard; plain data, cheap to ship."""

    out: str
    settings: PrepareSettings
    tokenizer_checksum: str
    token_type: TokenType
    eos_id: int | None
    storage_options: dict[str, Any] | None = None
