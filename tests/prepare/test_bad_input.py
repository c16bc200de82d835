"""Bad input through `prepare`: each is counted in the report and skipped, or stops with a
message naming the file under `strict` / `on_invalid="error"`."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from lmio.errors import DataError, IntegrityError
from lmio.prepare import prepare
from lmio.store import open_dataset
from lmio.tokenizer import Tokenizer


@pytest.fixture
def bad_corpus(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    root.mkdir()
    (root / "a.jsonl").write_bytes(
        b'{"text": "good one"}\n'
        b"not json at all\n"
        b'{"title": "no text field"}\n'
        b'{"text": "bad \xff byte"}\n'
        b'{"text": "' + b"y" * 300 + b'"}\n'
        b'{"text": "good one"}\n'
    )
    (root / "b.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR binary")
    (root / "c.txt").write_bytes(b"")
    noise = [os.urandom(30).hex() for _ in range(500)]
    (root / "d.jsonl.gz").write_bytes(
        gzip.compress("".join(json.dumps({"text": t}) + "\n" for t in noise).encode())[:3000]
    )
    (root / "e.txt").write_text("a plain text document")
    return root


def test_every_bad_input_is_counted_and_the_rest_is_written(
    bad_corpus: Path, tokenizer: Tokenizer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    report = prepare(
        [bad_corpus], tokenizer=tokenizer, out=tmp_path / "ds", workers=1, max_document_chars=20
    )
    read = report.read
    assert read.malformed_records == 1
    assert read.missing_text == 1
    assert read.invalid_utf8 == 1
    assert read.oversized_records == 1  # 300 bytes > 12 bytes x 20 characters
    assert read.binary_files == 1
    assert read.empty_files == 1
    assert read.unreadable_files == 1
    assert report.clean.duplicates == 1
    assert "d.jsonl.gz" in caplog.text and "skipped it" in caplog.text
    decoded = [tokenizer.decode(d[:-1]) for d in open_dataset(tmp_path / "ds").iter_documents()]
    assert decoded[:2] == ["good one", "bad \ufffd byte"]
    assert decoded[-1] == "a plain text document"
    rows = dict(report.as_rows())
    assert rows["malformed records skipped"] == 1 and rows["binary files skipped"] == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"on_invalid": "error"}, r"invalid UTF-8 in .*a\.jsonl at byte offset 78"),
        ({"strict": True}, r"a\.jsonl at byte offset 21 is not valid JSON"),
    ],
)
def test_errors_name_the_file_and_the_place(
    bad_corpus: Path, tokenizer: Tokenizer, tmp_path: Path, options: dict[str, object], message: str
) -> None:
    with pytest.raises(DataError, match=message):
        prepare([bad_corpus / "a.jsonl"], tokenizer=tokenizer, out=tmp_path / "ds", **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("b.txt", r"b\.txt looks binary"),
        ("d.jsonl.gz", r"cannot read .*d\.jsonl\.gz"),
    ],
)
def test_strict_stops_at_binary_and_unreadable_files(
    bad_corpus: Path, tokenizer: Tokenizer, tmp_path: Path, name: str, message: str
) -> None:
    with pytest.raises(DataError, match=message):
        prepare(
            [bad_corpus / name], tokenizer=tokenizer, out=tmp_path / "ds", strict=True, workers=1
        )


def test_a_one_gigabyte_style_line_is_written_in_bounded_rows(
    tokenizer: Tokenizer, tmp_path: Path
) -> None:
    # Stands in for a 1 GB line: a 3 MB line with no newline, read in 100k-character parts.
    path = tmp_path / "huge.txt"
    path.write_text("lorem ipsum dolor sit amet " * 120_000)
    report = prepare(
        [path],
        tokenizer=tokenizer,
        out=tmp_path / "ds",
        split="line",
        max_document_chars=100_000,
        workers=1,
    )
    dataset = open_dataset(tmp_path / "ds")
    assert report.read.split_documents == 1 and dataset.num_documents == 1
    assert dataset.num_rows >= 30
    (tokens,) = dataset.iter_documents()
    assert tokenizer.decode(tokens[:-1]) == path.read_text().strip()


@pytest.mark.parametrize(("workers", "layout"), [(1, "json"), (2, "json"), (2, "saved")])
def test_a_damaged_tokenizer_file_stops_the_run_and_leaves_the_folder_as_it_was(
    bad_corpus: Path, tokenizer: Tokenizer, tmp_path: Path, workers: int, layout: str
) -> None:
    """The file loads in the background while the run starts: its error still comes, and
    what the run had written in a new folder is removed."""
    path = tmp_path / "tok.json"
    tokenizer.save(path)
    text = path.read_text()
    body = json.loads(text)
    first, second = body["tokens"][300], body["tokens"][301]
    if layout == "saved":  # swapped in place: the run's quick look reads it line by line
        swapped = text.replace(f'"{first}","{second}"', f'"{second}","{first}"')
        assert swapped != text
        path.write_text(swapped)
    else:
        body["tokens"][300], body["tokens"][301] = second, first
        path.write_text(json.dumps(body))
    out = tmp_path / "ds"
    with pytest.raises(IntegrityError, match="does not match its checksum"):
        prepare([bad_corpus / "a.jsonl"], tokenizer=path, out=out, workers=workers)
    assert not out.exists() or not list(out.iterdir())
