"""The Spark executor (local mode, the machine's Java): the same bytes as local processes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lmio.prepare import prepare
from lmio.prepare._spark import SparkTaskError

from ._helpers import tree

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java (17 or newer) on the PATH", allow_module_level=True)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas"),
]

SMALL = {"shard_size": "40kB", "row_group_tokens": 4000, "split": "paragraph", "unit_size": "48kB"}


@pytest.fixture(scope="module")
def spark_run(corpus: Path, tokenizer_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("spark") / "ds"
    report = prepare(
        [corpus],
        tokenizer=tokenizer_file,
        out=out,
        engine="spark",
        spark_master="local[2]",
        **SMALL,  # type: ignore[arg-type]
    )
    assert report.engine.startswith("spark")
    return out


def test_spark_writes_the_same_bytes_as_local_processes(
    spark_run: Path, corpus: Path, tokenizer_file: Path, tmp_path: Path
) -> None:
    prepare([corpus], tokenizer=tokenizer_file, out=tmp_path / "ds", workers=1, **SMALL)  # type: ignore[arg-type]
    assert tree(spark_run) == tree(tmp_path / "ds")


def test_spark_reads_the_shards_as_plain_parquet(spark_run: Path) -> None:
    from pyspark.sql import SparkSession, functions

    from lmio.store import open_dataset

    spark = SparkSession.getActiveSession()
    assert spark is not None
    frame = spark.read.parquet(str(spark_run / "data"))
    total = frame.select(functions.sum(functions.size("tokens"))).collect()[0][0]
    assert total == open_dataset(spark_run).num_tokens


def test_a_failing_spark_task_reports_the_error(
    corpus: Path, tokenizer_file: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\nnot json\n')
    with pytest.raises(
        SparkTaskError, match=r"DataError: .*bad\.jsonl at byte offset 17 is not valid JSON"
    ):
        prepare([bad], tokenizer=tokenizer_file, out=tmp_path / "ds", engine="spark", strict=True)
