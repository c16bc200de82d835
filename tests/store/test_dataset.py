"""The dataset format: pinned shard bytes, the manifest's checks, open_dataset and verify."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lmio.errors import FormatError, IntegrityError, NotFoundError
from lmio.store import open_dataset
from lmio.store._manifest import dump_manifest, parse_manifest, shard_path
from lmio.store._shards import ShardReader, shard_schema, token_type_for, write_shard


def _rows(docs: list[list[int]], first_id: int = 0) -> pa.Table:
    return pa.table(
        {
            "tokens": pa.array(docs, pa.list_(pa.uint16())),
            "doc_id": pa.array(range(first_id, first_id + len(docs)), pa.uint64()),
            "source": pa.array(["a.jsonl"] * len(docs)),
            "n_tokens": pa.array([len(d) for d in docs], pa.uint32()),
        }
    )


DOCS = [[1, 2, 3], [4], [5, 6, 7, 8], [9, 10]]


def _dataset(root: Path, groups: list[pa.Table]) -> Path:
    record = write_shard(str(root / shard_path(0)), groups, token_type="uint16")
    manifest = dump_manifest(
        tokenizer={"path": "tokenizer.json", "checksum": "sha256:00", "eos_id": None},
        token_type="uint16",
        writer={},
        shards=[{"path": shard_path(0), "documents": record.rows, **record.to_dict()}],
        settings={},
        inputs=[],
        report={},
    )
    (root / "manifest.json").write_bytes(manifest)
    return root


def test_same_rows_give_the_same_bytes_however_chunked(tmp_path: Path) -> None:
    whole = _rows(DOCS)
    chunked = pa.concat_tables([whole.slice(0, 1), whole.slice(1, 2), whole.slice(3)])
    a = write_shard(str(tmp_path / "a.parquet"), [whole], token_type="uint16")
    b = write_shard(str(tmp_path / "b.parquet"), [chunked], token_type="uint16")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    assert a == b
    assert a.rows == 4 and a.tokens == 10 and a.row_group_tokens == (10,)


def test_shards_are_plain_parquet_with_the_schema(tmp_path: Path) -> None:
    write_shard(
        str(tmp_path / "s.parquet"), [_rows(DOCS[:2]), _rows(DOCS[2:], 2)], token_type="uint16"
    )
    parquet = pq.ParquetFile(tmp_path / "s.parquet")
    assert parquet.num_row_groups == 2
    assert parquet.schema_arrow.field("tokens").type.value_type == pa.uint16()
    table = parquet.read()
    assert table.column("tokens").to_pylist() == DOCS
    assert table.column("source").to_pylist() == ["a.jsonl"] * 4
    metadata = parquet.metadata
    assert set(metadata.metadata) == {b"ARROW:schema"}  # nothing about the run
    source = metadata.row_group(0).column(2)
    assert source.compression == "ZSTD" and "RLE_DICTIONARY" in source.encodings
    assert "RLE_DICTIONARY" not in metadata.row_group(0).column(0).encodings


def test_read_tokens_gives_flat_values_and_offsets(tmp_path: Path) -> None:
    write_shard(str(tmp_path / "s.parquet"), [_rows(DOCS)], token_type="uint16")
    with ShardReader(str(tmp_path / "s.parquet")) as reader:
        values, offsets = reader.read_tokens(0)
    assert values.dtype == np.uint16 and offsets.dtype == np.int64
    assert offsets.tolist() == [0, 3, 4, 8, 10]
    assert values.tolist() == list(range(1, 11))


def test_token_type_follows_the_vocabulary() -> None:
    assert token_type_for(65_536) == "uint16"
    assert token_type_for(65_537) == "uint32"
    assert shard_schema("uint32").field("tokens").type.value_type == pa.uint32()


def test_open_dataset_reads_the_manifest(tmp_path: Path) -> None:
    dataset = open_dataset(_dataset(tmp_path, [_rows(DOCS[:2]), _rows(DOCS[2:], 2)]))
    assert dataset.num_documents == 4 and dataset.num_tokens == 10
    assert dataset.shards[0].row_group_tokens == (4, 6)
    assert dataset.shards[0].row_group_rows == (2, 2)
    dataset.verify()
    assert [d.tolist() for d in dataset.iter_documents()] == DOCS
    assert dataset.document_lengths().tolist() == [3, 1, 4, 2]
    values, offsets = dataset.read_tokens(0, 1)
    assert values.tolist() == [5, 6, 7, 8, 9, 10] and offsets.tolist() == [0, 4, 6]


def test_rows_of_one_document_are_joined(tmp_path: Path) -> None:
    table = _rows([[1, 2], [3], [4]])
    table = table.set_column(1, "doc_id", pa.array([7, 7, 8], pa.uint64()))
    dataset = open_dataset(_dataset(tmp_path, [table]))
    assert [d.tolist() for d in dataset.iter_documents()] == [[1, 2, 3], [4]]
    assert dataset.document_lengths().tolist() == [3, 1]


def test_verify_names_a_damaged_shard(tmp_path: Path) -> None:
    root = _dataset(tmp_path, [_rows(DOCS)])
    path = root / shard_path(0)
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=r"shard-00000\.parquet is damaged"):
        open_dataset(root).verify()
    path.unlink()
    with pytest.raises(NotFoundError, match="is missing"):
        open_dataset(root).verify()


def test_missing_and_unfinished_datasets_are_named(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="holds no lmio dataset"):
        open_dataset(tmp_path)
    (tmp_path / ".lmio-work").mkdir()
    with pytest.raises(NotFoundError, match=r"unfinished dataset .* rerun the same"):
        open_dataset(tmp_path)


def _manifest(**changes: object) -> bytes:
    body = json.loads(
        dump_manifest(
            tokenizer={"path": "tokenizer.json", "checksum": "sha256:00"},
            token_type="uint16",
            writer={},
            shards=[],
            settings={},
            inputs=[],
            report={},
        )
    )
    body.update(changes)
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"version": 2}, "format version 2; this lmio .* reads version 1 only"),
        ({"format": "other"}, "is not an lmio dataset manifest"),
        ({"token_type": "int8"}, "unknown token type"),
        ({"tokenizer": {"path": "../tok.json"}}, "must stay inside its folder"),
        ({"shards": [{"path": "/abs.parquet"}]}, "shard entry without"),
        (
            {
                "shards": [
                    {
                        **dict.fromkeys(
                            [
                                "rows",
                                "documents",
                                "tokens",
                                "bytes",
                                "checksum",
                                "row_group_rows",
                                "row_group_tokens",
                            ],
                            0,
                        ),
                        "path": "/abs.parquet",
                    }
                ]
            },
            "must stay inside its folder",
        ),
    ],
)
def test_bad_manifests_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(FormatError, match=message):
        parse_manifest(_manifest(**changes), "m.json")


def test_the_manifest_is_deterministic() -> None:
    assert _manifest() == _manifest()
    assert parse_manifest(_manifest(), "m.json")["totals"]["shards"] == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["row_groups"].pop(), "1 row group ranges for 2 row groups"),
        (lambda r: r["row_groups"].reverse(), "overlap or are out of order"),
        (lambda r: r["footer"].__setitem__(1, r["footer"][1] - 1), "does not end the file"),
        (lambda r: r["footer"].__setitem__(1, 1 << 40), "is not inside its"),
        (lambda r: r["row_groups"][0].__setitem__(2, "crc:12"), "cannot read the checksum"),
        (lambda r: r.pop("footer"), "ranges need 'row_groups' and 'footer'"),
    ],
)
def test_damaged_byte_ranges_in_a_manifest_are_refused(
    tmp_path: Path, change: Any, message: str
) -> None:
    root = _dataset(tmp_path, [_rows(DOCS[:2]), _rows(DOCS[2:], first_id=2)])
    manifest = json.loads((root / "manifest.json").read_text())
    change(manifest["shards"][0]["ranges"])
    (root / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(FormatError, match=message):
        open_dataset(str(root))
