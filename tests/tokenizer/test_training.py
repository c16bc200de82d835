"""`Tokenizer.train`: sources, bad input, and equivalence of the C core with the reference."""

from __future__ import annotations

import bz2
import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings

from lmio.errors import DataError, InvalidArgumentError, NotFoundError
from lmio.tokenizer import NAMED_PATTERNS, Tokenizer, _reference, _training
from lmio.tokenizer._patterns import resolve_pattern

from .strategies import TRICKY_TEXT


@pytest.fixture(scope="module")
def docs(pydoc: list[str]) -> list[str]:
    return pydoc[:150]


def _train(source: object, **options: object) -> Tokenizer:
    options.setdefault("vocab_size", 600)
    return Tokenizer.train(source, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("pattern", list(NAMED_PATTERNS))
def test_native_training_equals_reference(docs: list[str], pattern: str) -> None:
    specials = ["<|endoftext|>"]
    native = _train(docs, pattern=pattern, special_tokens=specials, vocab_size=1500)
    reference = _train(
        docs, pattern=pattern, special_tokens=specials, vocab_size=1500, engine="reference"
    )
    assert native == reference
    assert native.merges == reference.merges
    assert native.training_report is not None and reference.training_report is not None
    assert native.training_report.unique_words == reference.training_report.unique_words


def test_thread_count_does_not_change_the_result(docs: list[str]) -> None:
    assert _train(docs, num_threads=1) == _train(docs, num_threads=2)


def test_file_formats_train_the_same_tokenizer(docs: list[str], tmp_path: Path) -> None:
    expected = _train(docs)
    jsonl = "".join(json.dumps({"text": d, "id": i}) + "\n" for i, d in enumerate(docs))
    (tmp_path / "a.jsonl").write_text(jsonl)
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(jsonl.encode()))
    (tmp_path / "c.json.bz2").write_bytes(bz2.compress(jsonl.encode()))
    pq.write_table(pa.table({"text": docs}), tmp_path / "d.parquet")
    for name in ("a.jsonl", "b.jsonl.gz", "c.json.bz2", "d.parquet"):
        assert _train(tmp_path / name) == expected, name


def test_zstd_and_text_files(docs: list[str], tmp_path: Path) -> None:
    import pyarrow as pa

    whole = "\n\n".join(docs)
    (tmp_path / "a.txt").write_text(whole)
    with pa.CompressedOutputStream(str(tmp_path / "a.txt.zst"), "zstd") as out:
        out.write(whole.encode())
    expected = _train([whole])
    assert _train(tmp_path / "a.txt") == expected
    assert _train(str(tmp_path / "a.txt.zst")) == expected
    assert _train([tmp_path / "a.txt"]) == expected


def test_directories_and_globs(docs: list[str], tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"part{i}.txt").write_text(docs[i])
    by_dir = _train(tmp_path, vocab_size=300)
    by_glob = _train(str(tmp_path / "part*.txt"), vocab_size=300)
    assert by_dir == by_glob == _train(docs[:3], vocab_size=300)


def test_invalid_utf8_is_replaced_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"good text \xff\xfe more text \xc3 end" * 5)
    tok = _train(path, vocab_size=270)
    assert tok.training_report is not None
    assert tok.training_report.invalid_utf8 == 15
    assert tok.token_to_id("\ufffd".encode()) is not None or tok.n_mergeable >= 256


def test_invalid_utf8_can_be_an_error_with_file_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"0123456789\xff rest")
    with pytest.raises(DataError, match=r"invalid UTF-8 in .*bad\.txt at byte offset 10"):
        _train(path, vocab_size=270, on_invalid="error")


def test_invalid_utf8_offset_across_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lmio.text import _sources

    monkeypatch.setattr(_sources, "_BLOCK_BYTES", 7)
    path = tmp_path / "bad.txt"
    path.write_bytes("é".encode() * 10 + b"\xff")  # a character split across every block
    with pytest.raises(DataError, match="at byte offset 20"):
        _train(path, vocab_size=270, on_invalid="error")


def test_malformed_json_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text('{"text": "one two"}\nnot json\n{"other": 1}\n{"text": "three"}\n')
    tok = _train(path, vocab_size=260)
    assert tok.training_report is not None
    assert tok.training_report.documents == 2
    assert tok.training_report.skipped_records == 2


def test_empty_corpus_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(DataError, match="the training corpus is empty"):
        _train(tmp_path / "empty.txt")
    with pytest.raises(DataError, match="the training corpus is empty"):
        _train([])


def test_missing_paths_are_named(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"no such file or directory: .*missing\.txt"):
        _train(str(tmp_path / "missing.txt"))
    with pytest.raises(NotFoundError, match=r"missing\.jsonl"):
        _train([str(tmp_path / "missing.jsonl")])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"vocab_size": 200}, "vocab_size=200 is too small"),
        ({"vocab_size": 257, "special_tokens": ["<a>", "<b>"]}, "so at least 258"),
        ({"special_tokens": ["<a>", "<a>"]}, "listed twice"),
        ({"special_tokens": "<a>"}, "write special_tokens=\\['<a>'\\]"),
        ({"special_tokens": [""]}, "non-empty string"),
        ({"min_frequency": -1}, "min_frequency must be 0 or more"),
        ({"num_threads": 0}, "num_threads must be at least 1"),
        ({"pattern": "(["}, "nor a valid regular expression"),
    ],
)
def test_bad_options_are_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        _train(["some text"], **options)


def test_special_tokens_are_cut_out_of_training_text() -> None:
    tok = _train(["ab<|endoftext|>cd"] * 50, special_tokens=["<|endoftext|>"], vocab_size=300)
    learned = set(tok.tokens[256:])
    assert not any(b"<|" in token or b"|>" in token for token in learned)
    assert tok.special_tokens == {"<|endoftext|>": tok.n_mergeable}


def test_vocabulary_smaller_than_asked_when_corpus_runs_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tok = _train(["tiny corpus"], vocab_size=5000)
    assert tok.vocab_size < 5000
    assert "ran out of pairs to merge" in caplog.text


@settings(max_examples=80, deadline=None)
@given(text=TRICKY_TEXT)
def test_cutting_long_documents_keeps_word_counts(text: str) -> None:
    # Cuts land only between a non-space character and a space, where no named pattern
    # matches across: counting the parts equals counting the whole.
    long_text = (text + " x ") * 40
    for name in NAMED_PATTERNS:
        pattern = resolve_pattern(name)
        parts = _chunks(long_text, pattern, size=37)
        assert "".join(parts) == long_text
        assert _reference.count_words(parts, pattern.regex) == _reference.count_words(
            [long_text], pattern.regex
        )


def _chunks(text: str, pattern: object, size: int) -> list[str]:
    original = _training._CHUNK_CHARS
    _training._CHUNK_CHARS = size
    try:
        return list(_training._cut(text, pattern))  # type: ignore[arg-type]
    finally:
        _training._CHUNK_CHARS = original
