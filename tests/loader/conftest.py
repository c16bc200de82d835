"""Small datasets in the real format (the store's shard writer and manifest), whose token
values say where they come from: token t of the dataset's stream is the number t, so every
window and document can be traced back to its place."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from lmio.store._manifest import dump_manifest, shard_path
from lmio.store._shards import WRITER_SETTINGS, write_shard

MakeDataset = Callable[..., Path]


def write_dataset(
    root: Path,
    documents: Sequence[np.ndarray],
    *,
    docs_per_group: int = 4,
    groups_per_shard: int | Sequence[int] = 2,
    token_type: str = "uint32",
) -> Path:
    """Documents in order, `docs_per_group` per row group, `groups_per_shard` row groups per
    shard (one number, or one per shard, the last repeated)."""
    groups = [documents[i : i + docs_per_group] for i in range(0, len(documents), docs_per_group)]
    sizes = [groups_per_shard] if isinstance(groups_per_shard, int) else list(groups_per_shard)
    shards, doc_id, at = [], 0, 0
    while at < len(groups) or not shards:
        count = sizes[min(len(shards), len(sizes) - 1)]
        tables = []
        for docs in groups[at : at + count]:
            tables.append(
                pa.table(
                    {
                        "tokens": pa.array([d.tolist() for d in docs], pa.list_(pa.uint32())),
                        "doc_id": pa.array(range(doc_id, doc_id + len(docs)), pa.uint64()),
                        "source": pa.array(["test"] * len(docs), pa.string()),
                        "n_tokens": pa.array([len(d) for d in docs], pa.uint32()),
                    }
                )
            )
            doc_id += len(docs)
        at += count
        path = shard_path(len(shards))
        record = write_shard(str(root / path), tables, token_type=token_type)
        shards.append({"path": path, "documents": record.rows, **record.to_dict()})
    manifest = dump_manifest(
        tokenizer={"path": "tokenizer.json", "checksum": "sha256:" + "0" * 64},
        token_type=token_type,
        writer=WRITER_SETTINGS,
        shards=shards,
        settings={},
        inputs=[],
        report={},
    )
    (root / "manifest.json").write_bytes(manifest)
    return root


def counting_documents(lengths: Sequence[int], *, start: int = 0) -> list[np.ndarray]:
    """Documents whose tokens count up from `start` across the whole stream."""
    ends = np.cumsum(lengths) + start
    return [np.arange(e - n, e, dtype=np.uint32) for n, e in zip(lengths, ends, strict=True)]


@pytest.fixture
def make_dataset(tmp_path: Path) -> MakeDataset:
    counter = iter(range(1_000))

    def make(lengths: Sequence[int] | None = None, *, start: int = 0, **options: object) -> Path:
        if lengths is None:
            lengths = np.random.default_rng(7).integers(5, 60, size=96).tolist()
        root = tmp_path / f"dataset-{next(counter)}"
        return write_dataset(root, counting_documents(lengths, start=start), **options)

    return make


def manifest_of(root: Path) -> dict[str, object]:
    return json.loads((root / "manifest.json").read_text())
