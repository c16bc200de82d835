"""The native path (the C pass, encoding from UTF-8, worker threads) writes exactly what the
Python path (LMIO_PREPARE_NATIVE=0: the reference reader and cleaner, worker processes) writes:
every file, the manifest and its counts included, for any worker count."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmio.errors import DataError
from lmio.prepare import Documents, prepare
from lmio.prepare._settings import PrepareSettings
from lmio.prepare._unit import native_options
from lmio.text import CleanOptions
from lmio.tokenizer import Tokenizer

from ._helpers import tree

SWITCH = "LMIO_PREPARE_NATIVE"
TRICKY = "\x00\x07\x0b\x1c\x85\xa0\u3000\u2028\r\t e\u0301\u1100\u1161 \uf900 \U0001f600 中文"


@pytest.fixture(scope="module")
def mixed_corpus(texts: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """JSON lines with every kind of line the C pass hands back, line-split text, gzip."""
    root = tmp_path_factory.mktemp("mixed")
    r = random.Random(7)
    lines = []
    for i, text in enumerate(texts * 2):
        body = text[: r.randint(0, 4000)]
        kind = i % 23
        if kind == 1:
            lines.append(json.dumps({"text": body + TRICKY}, ensure_ascii=False))
        elif kind == 2:
            lines.append(json.dumps({"text": "\n\n\n\n  " + body + " \r\n\r\n"}))
        elif kind == 3:
            lines.append('{"text": "lone \\ud83d here", "n": 1}')
        elif kind == 4:
            lines.append('{"title": "no text"}')
        elif kind == 5:
            lines.append("{broken json")
        elif kind == 6:
            lines.append(json.dumps({"text": body * 8}))  # long: in parts
        elif kind == 7:
            lines.append(json.dumps({"text": texts[0]}))  # a duplicate
        elif kind == 8:
            lines.append("   ")
        elif kind == 9:
            lines.append(json.dumps({"text": "x" * 200_000}))  # over the record limit
        else:
            lines.append(json.dumps({"id": i, "text": body}))
    data = ("\n".join(lines) + "\n").encode()
    (root / "a.jsonl").write_bytes(data[: len(data) // 2] + b'{"text": "bad \xff"}\n')
    (root / "b.jsonl.gz").write_bytes(gzip.compress(data[len(data) // 2 :]))
    (root / "c.jsonl").write_bytes(data[: len(data) // 3])  # duplicates of a.jsonl
    return root


@pytest.fixture(scope="module")
def text_corpus(texts: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lines")
    body = "\n".join([*texts, TRICKY, " ", "\r", "x" * 70_000]) + "\n"
    (root / "a.txt").write_text(body + "\xff".join(texts[:3]), errors="surrogateescape")
    (root / "b.txt").write_bytes(body.encode() + b"\xff\xfe invalid\n")
    return root


def _both(
    inputs: Any,
    tokenizer_file: Path,
    *,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    workers: tuple[int, ...] = (1, 3),
    threads: bool = True,
    **options: Any,
) -> dict[str, str]:
    """Prepare with the Python path, then with the native path at each worker count; the
    trees must be equal. Returns the tree."""
    monkeypatch.setenv(SWITCH, "0")
    reference_out = tmp_path / "python"
    prepare(inputs, tokenizer=tokenizer_file, out=reference_out, workers=2, **options)
    reference = tree(reference_out)
    monkeypatch.setenv(SWITCH, "1")
    for count in workers:
        out = tmp_path / f"native-{count}"
        report = prepare(inputs, tokenizer=tokenizer_file, out=out, workers=count, **options)
        assert ("thread" in report.engine) == (threads and count > 1), report.engine
        assert tree(out) == reference, f"{count} workers"
    return reference


SMALL = {"unit_size": "24kB", "shard_size": "30kB", "row_group_tokens": 3000}


@pytest.mark.parametrize(
    "clean",
    [
        CleanOptions(),
        CleanOptions.none(),
        CleanOptions(min_chars=200, max_chars=3000),
        CleanOptions(normalization=None, remove_control=False),
        CleanOptions(whitespace=False, dedup=False),
    ],
    ids=["default", "none", "filters", "whitespace-only", "no-whitespace"],
)
def test_json_lines_write_the_same_bytes(
    mixed_corpus: Path,
    tokenizer_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    clean: CleanOptions,
) -> None:
    _both(
        [str(mixed_corpus)],
        tokenizer_file,
        tmp_path=tmp_path,
        monkeypatch=monkeypatch,
        clean=clean,
        max_document_chars=12_000,
        **SMALL,
    )


def test_text_lines_write_the_same_bytes(
    text_corpus: Path, tokenizer_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _both(
        [str(text_corpus)],
        tokenizer_file,
        tmp_path=tmp_path,
        monkeypatch=monkeypatch,
        split="line",
        max_document_chars=5000,
        **SMALL,
    )


def test_in_memory_documents_write_the_same_bytes(
    texts: list[str], tokenizer_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    documents = [*texts[:200], TRICKY, "", texts[3], "e\u0301" * 50]
    _both(
        Documents(documents, name="memory"),
        tokenizer_file,
        tmp_path=tmp_path,
        monkeypatch=monkeypatch,
        shard_size="50kB",
    )


def test_paths_the_c_pass_does_not_take_are_the_python_path(
    corpus: Path, tokenizer_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parquet and paragraph text go through Python, on processes, beside native JSON lines."""
    _both(
        [str(corpus)],
        tokenizer_file,
        tmp_path=tmp_path,
        monkeypatch=monkeypatch,
        threads=False,
        split="paragraph",
        **SMALL,
    )
    settings = PrepareSettings(clean=CleanOptions(lowercase=True))
    assert native_options(settings, "a.jsonl") is None
    assert native_options(PrepareSettings(), "a.jsonl") is not None
    assert native_options(PrepareSettings(), "a.parquet") is None
    assert native_options(PrepareSettings(split="line"), "a.txt.gz") is not None


def test_a_custom_pattern_tokenizer_writes_the_same_bytes(
    texts: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokenizer = Tokenizer.train(
        texts[:50], vocab_size=400, special_tokens=["<|endoftext|>"], pattern=r"\w+|\s+|[^\w\s]+"
    )
    path = tmp_path / "tok.json"
    tokenizer.save(path)
    inputs = tmp_path / "in.jsonl"
    inputs.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts[:80]))
    _both(
        [str(inputs)], path, tmp_path=tmp_path, monkeypatch=monkeypatch, workers=(2,), threads=False
    )


def test_errors_name_the_same_place(
    tokenizer_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"text": "ok"}\n{"text": broken\n{"text": "bad \xff"}\n')
    for native_switch in ("0", "1"):
        monkeypatch.setenv(SWITCH, native_switch)
        with pytest.raises(DataError, match=r"bad\.jsonl at byte offset 15 is not valid JSON"):
            prepare(
                [str(path)], tokenizer=tokenizer_file, out=tmp_path / native_switch, strict=True
            )
        with pytest.raises(DataError, match=r"invalid UTF-8 in .*bad\.jsonl at byte offset 45"):
            prepare(
                [str(path)],
                tokenizer=tokenizer_file,
                out=tmp_path / (native_switch + "u"),
                on_invalid="error",
            )


LINE_PIECES = [
    '{"text": "%s"}',
    '{"id": 1, "text": "%s", "more": [1, {"text": "no"}]}',
    '{"text": "%s", "text": "dup %s"}',
    ' {"text": "%s"} ',
    '{"text": "%s\\ud800"}',
    '{"title": "%s"}',
    '{"text": %s}',
    "%s",
    "",
]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(
        st.tuples(
            st.lists(
                st.sampled_from(
                    [
                        "a",
                        "b ",
                        "\\n",
                        "\\r\\n",
                        " ",
                        "\\t",
                        "é",
                        "e\\u0301",
                        "中",
                        "\\u0007",
                        "\\\\",
                        "x" * 30,
                    ]
                ),
                max_size=40,
            ).map("".join),
            st.integers(0, len(LINE_PIECES) - 1),
        ),
        min_size=1,
        max_size=60,
    ),
    invalid=st.booleans(),
)
def test_generated_json_lines_write_the_same_bytes(
    lines: list[tuple[str, int]],
    invalid: bool,
    tokenizer_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = tmp_path_factory.mktemp("generated")
    rendered = ['{"text": "anchor"}']  # at least one document
    rendered += [LINE_PIECES[kind].replace("%s", text) for text, kind in lines]
    data = ("\n".join(rendered * 2) + "\n").encode()  # every document twice: dedup
    if invalid:
        data = data[: len(data) // 2] + b"\xff" + data[len(data) // 2 :]
    (root / "a.jsonl").write_bytes(data)
    _both(
        [str(root / "a.jsonl")],
        tokenizer_file,
        tmp_path=root,
        monkeypatch=monkeypatch,
        workers=(2,),
        unit_size="2kB",
        max_document_chars=60,
        shard_size="2kB",
        row_group_tokens=50,
    )
