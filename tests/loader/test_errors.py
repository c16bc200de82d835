"""Bad input is refused with a message that names it."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lmio.errors import (
    DataError,
    FormatError,
    IntegrityError,
    InvalidArgumentError,
    NotFoundError,
)
from lmio.loader import TokenLoader

from .conftest import MakeDataset


def first_batch(root: Path, **options: object) -> None:
    settings: dict[str, object] = {"batch_size": 2, "seq_len": 8, "shuffle": False}
    settings.update(options)
    next(iter(TokenLoader(root, **settings)))


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("batch_size", 0, "batch_size must be an integer >= 1, got 0"),
        ("seq_len", 1, "seq_len must be an integer >= 2, got 1"),
        ("num_threads", 0, "num_threads"),
        ("prefetch", 0, "prefetch"),
        ("shuffle_window", 0, "shuffle_window"),
        ("seed", -1, "seed"),
        ("packing", "zigzag", "packing must be 'concat' or 'pad', got 'zigzag'"),
        ("rank", 2, "rank must be in"),
    ],
)
def test_bad_options(make_dataset: MakeDataset, option: str, value: object, message: str) -> None:
    settings: dict[str, object] = {"batch_size": 2, "seq_len": 8, "world_size": 2, "rank": 0}
    settings[option] = value
    with pytest.raises(InvalidArgumentError, match=message):
        TokenLoader(make_dataset(), **settings)


def test_boundaries_need_concat(make_dataset: MakeDataset) -> None:
    with pytest.raises(InvalidArgumentError, match="boundaries=True needs packing='concat'"):
        TokenLoader(make_dataset(), batch_size=2, seq_len=8, packing="pad", boundaries=True)


def test_not_a_dataset(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no lmio dataset"):
        TokenLoader(tmp_path, batch_size=2, seq_len=8)
    with pytest.raises(InvalidArgumentError, match="got int"):
        TokenLoader(42, batch_size=2, seq_len=8)


def test_empty_dataset(make_dataset: MakeDataset) -> None:
    root = make_dataset([])
    with pytest.raises(DataError, match="holds no window of seq_len \\+ 1 = 9 tokens"):
        TokenLoader(root, batch_size=2, seq_len=8)
    with pytest.raises(DataError, match="holds no documents"):
        TokenLoader(root, batch_size=2, seq_len=8, packing="pad")


def test_documents_shorter_than_a_window(make_dataset: MakeDataset) -> None:
    root = make_dataset([3, 4, 2], docs_per_group=1)
    with pytest.raises(DataError, match=r"largest row group holds 4 tokens.*packing='pad'"):
        TokenLoader(root, batch_size=2, seq_len=8)
    loader = TokenLoader(root, batch_size=3, seq_len=8, packing="pad")
    assert int(next(iter(loader))["attention_mask"].sum()) == 2 + 3 + 1


def test_missing_shard_is_named(make_dataset: MakeDataset) -> None:
    root = make_dataset()
    (root / "data" / "shard-00001.parquet").unlink()
    with pytest.raises(NotFoundError, match=r"shard-00001\.parquet"):
        list(TokenLoader(root, batch_size=2, seq_len=8, verify=False))


def test_checksum_mismatch_is_named(make_dataset: MakeDataset) -> None:
    root = make_dataset()
    shard = root / "data" / "shard-00000.parquet"
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=r"shard-00000\.parquet"):
        first_batch(root)


def test_schema_change_is_named(make_dataset: MakeDataset) -> None:
    root = make_dataset([20] * 16)
    shard = root / "data" / "shard-00000.parquet"
    table = pq.read_table(shard)
    tokens = table.column("tokens").cast(pa.list_(pa.int64()))
    pq.write_table(table.set_column(0, "tokens", tokens), shard, row_group_size=4)
    with pytest.raises(FormatError, match=r"shard-00000.parquet.*int64"):
        first_batch(root, verify=False)


def test_shard_that_disagrees_with_the_manifest_is_named(make_dataset: MakeDataset) -> None:
    root = make_dataset([20] * 16)
    shard = root / "data" / "shard-00000.parquet"
    pq.write_table(pq.read_table(shard), shard, row_group_size=3)
    with pytest.raises(FormatError, match=r"shard-00000.parquet.*disagrees with the manifest"):
        first_batch(root, verify=False)


def test_row_group_token_count_that_disagrees_is_named(make_dataset: MakeDataset) -> None:
    root = make_dataset([20] * 16)
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["shards"][0]["row_group_tokens"][0] += 1
    (root / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(
        FormatError, match=r"row group 0 of shard data/shard-00000.parquet holds 80"
    ):
        first_batch(root, verify=False)
