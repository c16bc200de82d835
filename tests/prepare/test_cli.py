"""`lmio prepare` and `lmio inspect` on the command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from lmio.store import open_dataset


def test_prepare_then_inspect(
    cli: Callable[..., Any], corpus: Path, tokenizer_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ds"
    result = cli(
        "-q",
        "prepare",
        corpus,
        "-t",
        tokenizer_file,
        "-o",
        out,
        "--split",
        "paragraph",
        "--shard-size",
        "50kB",
        "--workers",
        "1",
    )
    assert result.status == 0, result.err
    assert "documents written" in result.out and "dropped: duplicates" in result.out
    dataset = open_dataset(out)
    inspected = cli("inspect", out, "--verify")
    assert inspected.status == 0, inspected.err
    assert f"{dataset.num_tokens:,}" in inspected.out
    assert f"all {len(dataset.shards)} shards match the manifest" in inspected.out
    assert "compression ratio" in inspected.out and "tokens per document: mean" in inspected.out
    again = cli(
        "-q",
        "prepare",
        corpus,
        "-t",
        tokenizer_file,
        "-o",
        out,
        "--split",
        "paragraph",
        "--shard-size",
        "50kB",
    )
    assert again.status == 0 and "already complete" in again.out


def test_cleaning_steps_by_name(
    cli: Callable[..., Any], tokenizer_file: Path, tmp_path: Path
) -> None:
    source = tmp_path / "a.txt"
    source.write_text("Hello WORLD\nhello world\nHi\n")
    result = cli(
        "-q",
        "prepare",
        source,
        "-t",
        tokenizer_file,
        "-o",
        tmp_path / "ds",
        "--split",
        "line",
        "--clean",
        "nfc,lowercase",
        "--min-chars",
        "3",
        "--no-eos",
        "--workers",
        "1",
    )
    assert result.status == 0, result.err
    assert open_dataset(tmp_path / "ds").num_documents == 2  # lowercased, but no dedup


def test_errors_are_one_line(
    cli: Callable[..., Any], corpus: Path, tokenizer_file: Path, tmp_path: Path
) -> None:
    bad = cli(
        "-q", "prepare", corpus, "-t", tokenizer_file, "-o", tmp_path / "ds", "--clean", "shout"
    )
    assert bad.status == 1 and bad.err.startswith("error: unknown cleaning step 'shout'")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "mine.txt").write_text("x")
    taken = cli("-q", "prepare", corpus, "-t", tokenizer_file, "-o", tmp_path / "taken")
    assert taken.status == 1 and "holds files lmio did not write" in taken.err
    missing = cli("inspect", tmp_path / "nowhere")
    assert missing.status == 1 and "holds no lmio dataset" in missing.err
