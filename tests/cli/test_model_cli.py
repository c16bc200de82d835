"""`lmio train` and `lmio eval` end to end, and their one-line errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from lmio.model import PRESETS


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    text = "The quick brown fox jumps over the lazy dog. " * 40
    path = tmp_path / "tokens.npy"
    np.save(path, np.frombuffer(text.encode(), dtype=np.uint8).astype(np.uint16))
    return path


def test_train_then_eval(cli, token_file: Path, tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    result = cli(
        "-q", "train", token_file, "--out", model_dir, "--steps", "20", "--batch-size", "4",
        "--seq-len", "32", "--lr", "3e-3", "--vocab-size", "256", "--seed", "1",
    )  # fmt: skip
    assert result.status == 0, result.err
    assert "trained a tiny GPT" in result.out and "for 20 steps" in result.out
    losses = re.search(r"loss (\d+\.\d+) -> (\d+\.\d+)", result.out)
    assert losses is not None and float(losses[2]) < float(losses[1])
    config = json.loads((model_dir / "config.json").read_text())["config"]
    assert (config["vocab_size"], config["block_size"]) == (256, 32)

    result = cli("-q", "eval", token_file, "--model", model_dir, "--max-batches", "3")
    assert result.status == 0, result.err
    assert re.fullmatch(
        r"loss \d+\.\d+  perplexity \d+\.\d+  \([\d,]+ tokens in 3 batches\)\n", result.out
    )


def test_training_is_reproducible_from_the_seed(cli, token_file: Path, tmp_path: Path) -> None:
    outputs = []
    for name in ("a", "b"):
        cli("-q", "train", token_file, "--out", tmp_path / name, "--steps", "3", "--seq-len", "16")
        outputs.append((tmp_path / name / "model.safetensors").read_bytes())
    assert outputs[0] == outputs[1]


def test_vocab_size_defaults_to_largest_id_plus_one(cli, token_file: Path, tmp_path: Path) -> None:
    result = cli(
        "-q", "train", token_file, "--out", tmp_path / "m", "--steps", "1", "--seq-len", "8"
    )
    assert result.status == 0, result.err
    largest = int(np.load(token_file).max())
    assert (
        json.loads((tmp_path / "m" / "config.json").read_text())["config"]["vocab_size"]
        == largest + 1
    )


def _one_line_error(result, pattern: str, status: int = 1) -> None:
    assert result.status == status
    assert result.out == ""
    assert result.err.count("\n") == 1, result.err
    assert re.match(f"error: {pattern}", result.err), result.err


def test_missing_token_file(cli, tmp_path: Path) -> None:
    result = cli("train", tmp_path / "nope.npy", "--out", tmp_path / "m")
    _one_line_error(result, "token file not found: .*nope.npy; pass a .npy file")


@pytest.mark.parametrize(
    ("array", "pattern"),
    [
        (
            np.zeros(10, dtype=np.float64),
            "(.*) holds a float64 array .* must be one-dimensional integer",
        ),
        (np.zeros((4, 4), dtype=np.int32), r"(.*) holds a int32 array of shape \(4, 4\)"),
        (np.zeros(0, dtype=np.int32), "token file (.*) is empty"),
        (np.arange(5, dtype=np.int32), "(.*) holds 5 tokens, too few for one window of seq_len"),
    ],
)
def test_bad_token_files(cli, tmp_path: Path, array: np.ndarray, pattern: str) -> None:
    path = tmp_path / "tokens.npy"
    np.save(path, array)
    _one_line_error(cli("train", path, "--out", tmp_path / "m", "--seq-len", "8"), pattern)


def test_not_a_npy_file(cli, tmp_path: Path) -> None:
    path = tmp_path / "tokens.npy"
    path.write_text("1 2 3\n")
    _one_line_error(cli("train", path, "--out", tmp_path / "m"), "cannot read .* as a .npy array")


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["--steps", "0"], "argument --steps: must be a positive integer, got 0"),
        (["--batch-size", "x"], "argument --batch-size: invalid positive_int value: 'x'"),
        (["--lr", "-1"], "argument --lr: must be > 0, got -1"),
    ],
)
def test_bad_arguments_are_usage_errors(
    cli, token_file: Path, tmp_path: Path, args: list[str], pattern: str
) -> None:
    _one_line_error(cli("train", token_file, "--out", tmp_path / "m", *args), pattern, status=2)


def test_unknown_preset(cli, token_file: Path, tmp_path: Path) -> None:
    result = cli("train", token_file, "--out", tmp_path / "m", "--preset", "huge")
    _one_line_error(result, "unknown preset 'huge': choose one of tiny, small, base")


def test_help_lists_every_preset(cli) -> None:
    result = cli("train", "--help")
    assert all(name in result.out for name in PRESETS)


def test_vocab_size_too_small_for_the_ids(cli, token_file: Path, tmp_path: Path) -> None:
    result = cli("train", token_file, "--out", tmp_path / "m", "--vocab-size", "100")
    _one_line_error(
        result, ".*tokens.npy holds token id 122, but the model's vocabulary has 100 ids"
    )


def test_eval_without_a_model(cli, token_file: Path, tmp_path: Path) -> None:
    result = cli("eval", token_file, "--model", tmp_path / "nowhere")
    _one_line_error(result, "no lmio model at .*nowhere")


def test_eval_with_windows_longer_than_the_model(cli, token_file: Path, tmp_path: Path) -> None:
    cli("-q", "train", token_file, "--out", tmp_path / "m", "--steps", "1", "--seq-len", "16")
    result = cli("eval", token_file, "--model", tmp_path / "m", "--seq-len", "64")
    _one_line_error(result, "sequence of 64 tokens is longer than the model's block_size 16")


def test_bad_device(cli, token_file: Path, tmp_path: Path) -> None:
    result = cli("train", token_file, "--out", tmp_path / "m", "--device", "gpu7")
    _one_line_error(result, "unknown --device 'gpu7'")


def test_train_then_eval_on_a_prepared_dataset(cli, tmp_path: Path) -> None:
    from pydoc_data.topics import topics

    from lmio.prepare import Documents, prepare
    from lmio.tokenizer import Tokenizer

    texts = [text for _, text in sorted(topics.items())[:60]]
    tok = Tokenizer.train(texts, vocab_size=300, special_tokens=["<|endoftext|>"])
    prepare(Documents(texts), tokenizer=tok, out=tmp_path / "data", workers=1, show_progress=False)

    model_dir = tmp_path / "model"
    result = cli(
        "-q", "train", tmp_path / "data", "--out", model_dir, "--steps", "8",
        "--batch-size", "4", "--seq-len", "32", "--seed", "1",
        "--disk-cache", tmp_path / "cache", "--disk-cache-size", "64MB",
    )  # fmt: skip
    assert result.status == 0, result.err
    config = json.loads((model_dir / "config.json").read_text())["config"]
    assert (config["vocab_size"], config["block_size"]) == (300, 32)

    result = cli("-q", "eval", tmp_path / "data", "--model", model_dir, "--max-batches", "2")
    assert result.status == 0, result.err
    assert "(1,024 tokens in 2 batches)" in result.out


def test_train_on_a_missing_dataset_is_one_line(cli, tmp_path: Path) -> None:
    result = cli("train", tmp_path / "nowhere", "--out", tmp_path / "m")
    assert result.status == 1
    assert result.err.startswith("error: ") and result.err.count("\n") == 1
