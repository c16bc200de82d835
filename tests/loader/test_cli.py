"""`lmio bench loader`."""

from __future__ import annotations

from pathlib import Path

from .conftest import MakeDataset


def test_bench_loader_prints_its_metrics(make_dataset: MakeDataset, cli) -> None:
    root = make_dataset()
    result = cli("bench", "loader", root, "--batch-size", "4", "--seq-len", "8", "--batches", "5")
    assert result.status == 0, result.err
    for row in ("tokens/s", "first batch", "waited for data", "cache hit rate"):
        assert row in result.out
    assert "batches          5\n" in result.out
    assert "tokens           160\n" in result.out


def test_bench_loader_reports_bad_input_on_one_line(
    tmp_path: Path, make_dataset: MakeDataset, cli
) -> None:
    result = cli("bench", "loader", tmp_path)
    assert result.status == 1
    assert result.err.startswith("error: ") and "no lmio dataset" in result.err
    result = cli("bench", "loader", make_dataset(), "--seq-len", "1")
    assert result.err == "error: seq_len must be an integer >= 2, got 1\n"
