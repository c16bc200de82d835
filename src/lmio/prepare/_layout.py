"""Where a dataset's files live under its output folder.

OUT/manifest.json              written last: its presence means the dataset is complete
OUT/tokenizer.json             a copy of the tokenizer
OUT/data/shard-00000.parquet   the shards
OUT/.lmio-work/                the run's work, removed on success:
    job.json                   what this run makes (settings, inputs, tokenizer)
    documents.jsonl            in-memory documents, spooled
    units/00000.tokens.bin     phase 1: a unit's tokens, back to back
    units/00000.index.bin      phase 1: a unit's rows: doc ids, counts, flags, hashes
    units/00000.json           phase 1: the unit's record, written after its files
    shards/00000.json          phase 2: a shard's record, written after the shard
"""

from __future__ import annotations

from lmio.store._files import url_join
from lmio.store._manifest import DATA_DIR, MANIFEST_NAME, TOKENIZER_NAME, shard_path

__all__ = ["WORK_DIR", "Layout"]

WORK_DIR = ".lmio-work"
OWNED = frozenset({MANIFEST_NAME, TOKENIZER_NAME, DATA_DIR, WORK_DIR})


class Layout:
    """The URLs of one output folder's files."""

    def __init__(self, out: str) -> None:
        self.out = out
        self.work = url_join(out, WORK_DIR)

    @property
    def manifest(self) -> str:
        return url_join(self.out, MANIFEST_NAME)

    @property
    def tokenizer(self) -> str:
        return url_join(self.out, TOKENIZER_NAME)

    @property
    def job(self) -> str:
        return url_join(self.work, "job.json")

    @property
    def documents(self) -> str:
        return url_join(self.work, "documents.jsonl")

    def unit_tokens(self, index: int) -> str:
        return url_join(self.work, "units", f"{index:05d}.tokens.bin")

    def unit_index(self, index: int) -> str:
        return url_join(self.work, "units", f"{index:05d}.index.bin")

    def unit_record(self, index: int) -> str:
        return url_join(self.work, "units", f"{index:05d}.json")

    def shard(self, index: int) -> str:
        return url_join(self.out, *shard_path(index).split("/"))

    @property
    def shards(self) -> str:
        """The folder of the shards' records."""
        return url_join(self.work, "shards")

    def shard_record(self, index: int) -> str:
        return url_join(self.work, "shards", f"{index:05d}.json")
