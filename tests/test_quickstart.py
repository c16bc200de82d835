"""`lmio quickstart` and the library function behind it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmio.errors import InvalidArgumentError
from lmio.model import load_model
from lmio.quickstart import STAGES, run_quickstart
from lmio.tokenizer import Tokenizer


@pytest.mark.slow
def test_quickstart_command_runs_end_to_end(cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cli("-q", "quickstart", "--steps", "30", "--max-bytes", "300kB", "--out", out)
    assert result.status == 0, result.err
    header, _rule, *rows = result.out.split("\n\n")[0].splitlines()
    assert header.split() == ["stage", "what", "it", "did", "time", "throughput"]
    assert [row.split()[0] for row in rows] == [name for name, _ in STAGES]
    assert "sample:\ndef " in result.out
    assert f"artefacts in {out}" in result.out

    summary = json.loads((out / "summary.json").read_text())
    assert summary["final_loss"] < summary["initial_loss"]
    assert len(summary["train_losses"]) == 30
    assert summary["settings"]["steps"] == 30
    for name in ("train", "eval"):
        assert (out / "data" / name / "manifest.json").is_file()
    assert load_model(out / "model").config.vocab_size == 4096
    assert Tokenizer.load(out / "tokenizer.json").vocab_size == 4096

    # The artefacts feed the other commands as they are.
    result = cli(
        "-q", "eval", out / "data" / "eval", "--model", out / "model", "--max-batches", "2"
    )
    assert result.status == 0, result.err


def test_without_out_dir_nothing_is_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    report = run_quickstart(steps=2, max_bytes=100_000, eval_batches=1)
    assert report.out_dir is None
    # Only our own directory counts: torch may leave caches of its own in TMPDIR.
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("lmio-quickstart-")]


def test_custom_stage_list_out_of_order_says_so() -> None:
    stages = [name_stage for name_stage in STAGES if name_stage[0] != "prepare"]
    with pytest.raises(InvalidArgumentError, match="quickstart stages out of order"):
        run_quickstart(steps=1, max_bytes=10_000, stages=stages)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="steps must be >= 1, got 0"):
        run_quickstart(steps=0)


def test_quickstart_usage_errors(cli) -> None:
    result = cli("quickstart", "--max-bytes", "lots")
    assert result.status == 2
    assert result.err.startswith("error: argument --max-bytes: cannot read --max-bytes 'lots'")
