"""`lmio tokenizer train | encode | decode | info`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmio.tokenizer import Tokenizer


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pydoc_data.topics import topics

    path = tmp_path_factory.mktemp("corpus") / "docs.jsonl"
    with path.open("w") as f:
        for _, text in sorted(topics.items())[:100]:
            f.write(json.dumps({"text": text}) + "\n")
    return path


@pytest.fixture
def tok_file(cli, corpus: Path, tmp_path: Path) -> Path:
    out = tmp_path / "tok.json"
    result = cli(
        "tokenizer", "train", corpus, "--vocab-size", "400",
        "--special-token", "<|endoftext|>", "-o", out, "--hf", tmp_path / "hf",
    )  # fmt: skip
    assert result.status == 0, result.err
    assert result.out.startswith(f"wrote {out} (400 tokens, sha256:")
    return out


def test_train_writes_lmio_and_hf_files(tok_file: Path) -> None:
    tok = Tokenizer.load(tok_file)
    assert tok.vocab_size == 400 and tok.special_tokens == {"<|endoftext|>": 399}
    assert (tok_file.parent / "hf" / "tokenizer.json").is_file()


def test_encode_and_decode_round_trip(cli, tok_file: Path, tmp_path: Path) -> None:
    text = tmp_path / "in.txt"
    text.write_text("first line\nsecond <|endoftext|> line\n")
    encoded = cli("tokenizer", "encode", "-t", tok_file, "--lines", text)
    assert encoded.status == 0, encoded.err
    lines = encoded.out.splitlines()
    assert len(lines) == 2
    tok = Tokenizer.load(tok_file)
    assert [int(i) for i in lines[1].split()] == tok.encode_ordinary("second <|endoftext|> line")
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(encoded.out)
    decoded = cli("tokenizer", "decode", "-t", tok_file, ids_file)
    assert decoded.out == "first line\nsecond <|endoftext|> line\n"
    special = cli("tokenizer", "encode", "-t", tok_file, "--allow-special", text)
    assert "399" in special.out.split()


def test_info_describes_the_tokenizer(cli, tok_file: Path) -> None:
    result = cli("tokenizer", "info", tok_file)
    assert result.status == 0
    assert "vocabulary size    400" in result.out
    assert "<|endoftext|>=399" in result.out
    assert "gpt4" in result.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tokenizer", "train", "missing.txt", "--vocab-size", "300", "-o", "x.json"],
         "error: no such file or directory: missing.txt"),
        (["tokenizer", "train", "README.md", "--vocab-size", "10", "-o", "x.json"],
         "error: vocab_size=10 is too small"),
        (["tokenizer", "train", "README.md", "--vocab-size", "ten", "-o", "x.json"],
         "error: argument --vocab-size: invalid int value: 'ten'"),
        (["tokenizer", "info", "missing.json"], "error: no such file: missing.json"),
        (["tokenizer", "encode", "-t", "missing.json"], "error: no such file: missing.json"),
    ],
)  # fmt: skip
def test_errors_are_one_line(cli, args: list[str], message: str) -> None:
    result = cli(*args)
    assert result.status != 0
    assert result.err.startswith(message)
    assert result.err.count("\n") == 1


def test_tampered_tokenizer_is_reported(cli, tok_file: Path) -> None:
    tok_file.write_text(tok_file.read_text().replace('"lmio"', '"evil"'))
    result = cli("tokenizer", "info", tok_file)
    assert result.status == 1
    assert "does not match its checksum" in result.err
