"""Document readers: keys, byte ranges, long documents in bounded memory, and bad input."""

from __future__ import annotations

import bz2
import gzip
import json
import os
import tracemalloc
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmio.errors import DataError, InvalidArgumentError
from lmio.store import _files
from lmio.text._sources import ReadStats, Record, iter_documents, iter_records, splittable

DOCS = ["first doc", "", "second\nwith a newline", "中文 é", "  ", "last one"]


def _jsonl(docs: list[str]) -> str:
    return "".join(json.dumps({"text": d}) + "\n" for d in docs)


def _whole(records: list[Record]) -> list[tuple[int, str]]:
    """Documents with their keys, parts joined."""
    out: list[tuple[int, str]] = []
    pieces: list[str] = []
    for record in records:
        pieces.append(record.text)
        if record.last:
            out.append((record.key, "".join(pieces)))
            pieces = []
    assert not pieces
    return out


def test_json_lines_keys_are_byte_offsets(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    data = _jsonl(DOCS).encode()
    path.write_bytes(data)
    records = list(iter_records(str(path)))
    assert [r.text for r in records] == DOCS
    for record in records:
        assert json.loads(data[record.key :].split(b"\n", 1)[0])["text"] == record.text


def test_parquet_keys_are_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"text": ["a", None, "c"]}), path)
    stats = ReadStats()
    records = list(iter_records(str(path), stats=stats))
    assert [(r.key, r.text) for r in records] == [(0, "a"), (2, "c")]
    assert stats.missing_text == 1


@settings(max_examples=40, deadline=None)
@given(
    docs=st.lists(st.text(st.sampled_from("ab é中\t"), max_size=30), max_size=25),
    step=st.integers(1, 90),
)
def test_byte_ranges_partition_the_records(
    tmp_path_factory: pytest.TempPathFactory, docs: list[str], step: int
) -> None:
    folder = tmp_path_factory.mktemp("ranges")
    jsonl, text = folder / "a.jsonl", folder / "a.txt"
    jsonl.write_text(_jsonl(docs))
    text.write_text("\n".join(docs))
    for path, split in ((jsonl, "file"), (text, "line")):
        whole = [(r.key, r.text) for r in iter_records(str(path), split=split)]  # type: ignore[arg-type]
        size = path.stat().st_size
        pieces = [
            (r.key, r.text)
            for start in range(0, size, step)
            for r in iter_records(
                str(path), split=split, byte_range=(start, min(start + step, size))
            )  # type: ignore[arg-type]
        ]
        assert pieces == whole


def test_only_uncompressed_line_formats_split() -> None:
    assert splittable("a.jsonl", "file")
    assert splittable("a.txt", "line")
    assert not splittable("a.txt", "file")
    assert not splittable("a.txt", "paragraph")
    assert not splittable("a.jsonl.gz", "file")
    assert not splittable("a.parquet", "file")
    with pytest.raises(InvalidArgumentError, match="cannot be read in byte ranges"):
        list(iter_records("a.jsonl.gz", byte_range=(0, 10)))


@pytest.mark.parametrize("split", ["file", "line", "paragraph"])
def test_a_long_line_comes_in_bounded_parts_that_join_to_it(tmp_path: Path, split: str) -> None:
    line = "word " * 4000 + "x" * 3000 + " end"  # a run without any space, too
    path = tmp_path / "long.txt"
    path.write_text(f"short\n{line}\nafter\n")
    stats = ReadStats()
    records = list(iter_records(str(path), split=split, max_document_chars=1000, stats=stats))  # type: ignore[arg-type]
    assert max(len(r.text) for r in records) <= 1000
    expected = {
        "file": [f"short\n{line}\nafter\n"],
        "line": ["short", line, "after"],
        "paragraph": [f"short\n{line}\nafter"],
    }[split]
    assert [text for _, text in _whole(records)] == expected
    assert stats.split_documents == 1
    assert stats.unsafe_cuts >= 1  # the 3000 x's had to be cut mid-word


def test_a_huge_line_is_streamed_in_bounded_memory(tmp_path: Path) -> None:
    # Stands in for a 1 GB line: memory must not grow with the line's length.
    path = tmp_path / "huge.txt"
    with path.open("w") as out:
        for _ in range(64):
            out.write("lorem ipsum dolor " * 15_000)  # 64 x 270 kB, no newline
    tracemalloc.start()
    try:
        count = sum(
            len(r.text) for r in iter_records(str(path), split="line", max_document_chars=100_000)
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == path.stat().st_size
    assert peak < 6_000_000, peak


def test_an_oversized_json_record_is_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(_jsonl(["ok", "y" * 5000, "also ok"]))
    stats = ReadStats()
    records = list(iter_records(str(path), max_record_bytes=4000, stats=stats))
    assert [r.text for r in records] == ["ok", "also ok"]
    assert stats.oversized_records == 1
    with pytest.raises(DataError, match="longer than 4000 bytes"):
        list(iter_records(str(path), max_record_bytes=4000, strict=True))
    parts = list(iter_records(str(path), max_document_chars=1000))
    assert [text for _, text in _whole(parts)] == ["ok", "y" * 5000, "also ok"]
    assert max(len(r.text) for r in parts) == 1000


def test_compressed_inputs(tmp_path: Path) -> None:
    data = _jsonl(DOCS).encode()
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(data))
    (tmp_path / "a.json.bz2").write_bytes(bz2.compress(data))
    with pa.CompressedOutputStream(str(tmp_path / "a.jsonl.zst"), "zstd") as out:
        out.write(data)
    plain = [(r.key, r.text) for r in iter_records(_write(tmp_path / "a.jsonl", data))]
    for name in ("a.jsonl.gz", "a.json.bz2", "a.jsonl.zst"):
        assert [(r.key, r.text) for r in iter_records(str(tmp_path / name))] == plain


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def test_binary_and_empty_files_are_counted(tmp_path: Path) -> None:
    stats = ReadStats()
    binary = _write(tmp_path / "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert list(iter_documents(binary, stats=stats)) == []
    assert list(iter_documents(_write(tmp_path / "empty.txt", b""), stats=stats)) == []
    assert stats.binary_files == 1
    assert stats.empty_files == 2
    with pytest.raises(DataError, match=r"image\.txt looks binary"):
        list(iter_records(binary, strict=True))


def test_invalid_utf8_is_replaced_or_names_the_offset(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.jsonl", b'{"text": "ok"}\n{"text": "bad \xff byte"}\n')
    stats = ReadStats()
    assert [r.text for r in iter_records(path, stats=stats)] == ["ok", "bad \ufffd byte"]
    assert stats.invalid_utf8 == 1
    with pytest.raises(DataError, match=r"invalid UTF-8 in .*a\.jsonl at byte offset 29"):
        list(iter_records(path, on_invalid="error"))
    lines = _write(tmp_path / "b.txt", b"fine\nbad \xc3\n")
    with pytest.raises(DataError, match="at byte offset 9"):
        list(iter_records(lines, split="line", on_invalid="error"))


def test_lone_surrogates_in_json_are_replaced_and_counted(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.jsonl", b'{"text": "half \\ud800 pair"}\n')
    stats = ReadStats()
    assert [r.text for r in iter_records(path, stats=stats)] == ["half \ufffd pair"]
    assert stats.invalid_utf8 == 1


def test_malformed_records_are_skipped_and_counted_or_errors(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "a.jsonl", b'{"text": "a"}\nnot json\n[1]\n{"body": "b"}\n{"text": 3}\n'
    )
    stats = ReadStats()
    assert [r.text for r in iter_records(path, stats=stats)] == ["a"]
    assert stats.malformed_records == 1
    assert stats.missing_text == 3
    with pytest.raises(DataError, match="at byte offset 14 is not valid JSON"):
        list(iter_records(path, strict=True))
    with pytest.raises(DataError, match="has no string field 'text'; name the right field"):
        list(iter_records(_write(tmp_path / "b.jsonl", b'{"body": "b"}\n'), strict=True))


def test_unreadable_files_are_skipped_and_counted_or_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    noise = [os.urandom(30).hex() for _ in range(1000)]
    truncated = gzip.compress(_jsonl(noise).encode())[:2000]
    path = _write(tmp_path / "cut.jsonl.gz", truncated)
    stats = ReadStats()
    list(iter_records(path, stats=stats))
    assert stats.unreadable_files == 1
    with pytest.raises(DataError, match=r"cannot read .*cut\.jsonl\.gz"):
        list(iter_records(path, strict=True))

    def denied(url: str, **_: object) -> object:
        raise PermissionError(13, "Permission denied", url)

    monkeypatch.setattr("lmio.text._sources.open_input", denied)
    with pytest.raises(DataError, match=r"cannot read .*locked\.txt: Permission denied"):
        list(iter_records(str(tmp_path / "locked.txt"), strict=True))
    stats = ReadStats()
    assert list(iter_records(str(tmp_path / "locked.txt"), stats=stats)) == []
    assert stats.unreadable_files == 1
    assert _files.open_input is not denied
