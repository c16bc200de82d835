"""The C pass over lines (csrc/prepare.c, lmio.text._native_lines) against its Python reference.

Whatever the C pass reads must be what `json.loads(line)[field]` (through the reader) and
`Cleaner` give; whatever it cannot settle it must hand back. The whole-run comparison reads the
same bytes through `Reader.json_lines` / `Reader.text_lines` + `Cleaner` and through
`Reader.native_lines`, and compares every document, key, digest and count.
"""

from __future__ import annotations

import json
import random
import sysconfig
import unicodedata
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmio.text import Cleaner, CleanOptions, CleanStats
from lmio.text._lines import line_runs
from lmio.text._native_lines import (
    STEP_CONTROL,
    STEP_NFC,
    STEP_WHITESPACE,
    LineDocuments,
    NativeOptions,
)
from lmio.text._readers import Reader
from lmio.text._records import ReadStats, Record
from lmio.tokenizer import _native

DEFAULT = STEP_CONTROL | STEP_NFC | STEP_WHITESPACE
STEPS = {  # the C pass's steps and the options that mean the same
    DEFAULT: CleanOptions(),
    0: CleanOptions.none(),
    STEP_CONTROL: CleanOptions(normalization=None, whitespace=False),
    STEP_NFC: CleanOptions(remove_control=False, whitespace=False),
    STEP_WHITESPACE: CleanOptions(normalization=None, remove_control=False),
    STEP_CONTROL | STEP_WHITESPACE: CleanOptions(normalization=None),
}

# Characters that each step, the JSON reader or the NFC check treat specially.
TRICKY = [
    *"\t\n\r \x00\x07\x0b\x0c\x1c\x1f\x7f\x85\x9f\xa0",
    *"\u1680\u2000\u2001\u2007\u200a\u200b\u2028\u2029\u202f\u205f\u3000\ufeff",
    *"é\u0301\u0300\u0323\u0327\u05b0\u0591\u093c\u094d\u0958\u1100\u1161\u11a8\uac00",
    *"\uf900\u2126\u212b\u0344\u0f73\U0001d15e\U0001f600\U000e0001\u0378\ufdd0\uffff\U0010ffff",
    *"中文a1_.,!-'\"\\/{}[]:",
]


def _text(max_size: int = 40) -> st.SearchStrategy[str]:
    return st.text(
        st.one_of(st.sampled_from(TRICKY), st.characters(blacklist_categories=("Cs",))),
        max_size=max_size,
    )


def _lines(block: bytes) -> list[bytes]:
    return block.split(b"\n")


def native(block: bytes, *, json_lines: bool = True, steps: int = DEFAULT, **limits: int) -> Any:
    """The C pass's raw result for one block."""
    return _native.prepare_lines(
        block,
        0 if json_lines else 1,
        b"text",
        steps,
        True,
        limits.get("max_line_bytes", -1),
        limits.get("max_chars", -1),
    )


def entries(block: bytes, **kwargs: Any) -> list[tuple[int, bytes, int, bytes]] | None:
    """(status, text, chars, digest) per entry, or None for invalid UTF-8."""
    import numpy as np

    result = native(block, **kwargs)
    if result is None:
        return None
    n, status, _, _, text_ends, chars, digests, text, _ = result
    ends = np.frombuffer(text_ends, dtype=np.int64).tolist()
    counts = np.frombuffer(chars, dtype=np.int64).tolist()
    starts = [0, *ends[:-1]]
    return [
        (status[i], text[starts[i] : ends[i]], counts[i], digests[16 * i : 16 * i + 16])
        for i in range(n)
    ]


# ------------------------------------------------------------------ JSON fields


def _reference_field(line: str) -> tuple[str | None, ReadStats]:
    stats = ReadStats()
    reader = Reader(
        "x.jsonl",
        text_field="text",
        on_invalid="replace",
        strict=False,
        stats=stats,
        max_chars=None,
        max_record_bytes=None,
    )
    return reader._json_text(0, line), stats


def _check_field(line: str) -> int:
    """Compare one line's C reading with Python's; the C status."""
    got = entries(line.encode(), steps=0)
    assert got is not None
    if not line or line.isspace():
        assert got == []
        return -1
    assert len(got) == 1
    status, text, chars, _ = got[0]
    if status == 2:  # left to Python
        return status
    assert status == 0
    expected, stats = _reference_field(line)
    assert expected is not None, f"the C pass read a line Python refuses: {line!r}"
    assert stats.invalid_utf8 == 0
    assert text.decode() == expected
    assert chars == len(expected)
    return status


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text(5), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=400, deadline=None)
@given(
    before=st.dictionaries(st.sampled_from(["a", "tex", "texts", "Text", "b"]), JSON_VALUES),
    text=_text(),
    after=st.dictionaries(st.sampled_from(["a", "c", "text2"]), JSON_VALUES),
    ascii_only=st.booleans(),
    separators=st.sampled_from([(", ", ": "), (",", ":"), (" ,\t", "\r: ")]),
)
def test_an_object_field_reads_like_json_loads(
    before: dict[str, Any],
    text: str,
    after: dict[str, Any],
    ascii_only: bool,
    separators: tuple[str, str],
) -> None:
    record = {**before, "text": text, **after}
    line = json.dumps(record, ensure_ascii=ascii_only, separators=separators)
    assert _check_field(line) == 0  # a well-formed line with a string field is read in C


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=_text(),
    edits=st.lists(
        st.tuples(
            st.integers(0, 200),
            st.sampled_from(
                [
                    "",
                    '"',
                    "\\",
                    "{",
                    "}",
                    "[",
                    "]",
                    ":",
                    ",",
                    " ",
                    "\t",
                    "\r",
                    "\x0b",
                    "\u3000",
                    "\x00",
                    "\\u",
                    "\\ud800",
                    "\\udc00",
                    "\\ud83d\\ude00",
                    "0",
                    "-",
                    ".",
                    "e",
                    "NaN",
                    "true",
                    "nul",
                    '"text": 1',
                    '"text": "dup"',
                    '"te\\u0078t": "esc"',
                    "\ufeff",
                ]
            ),
            st.integers(0, 3),
        ),
        max_size=3,
    ),
    prefix=st.sampled_from(["", " ", "\t", "\r", "\u3000", "x", "["]),
    suffix=st.sampled_from(["", " ", "\r", "\x1c", "\u3000", "\x85", "x", "}", "\x0b"]),
)
def test_a_mangled_line_is_read_like_json_loads_or_left_to_python(
    text: str, edits: list[tuple[int, str, int]], prefix: str, suffix: str
) -> None:
    line = json.dumps({"a": [1, {"text": "inner"}], "text": text, "n": -1.5e3})
    for where, insert, delete in edits:
        position = where % (len(line) + 1)
        line = line[:position] + insert + line[position + delete :]
    _check_field(prefix + line + suffix)


@pytest.mark.parametrize(
    ("line", "status"),
    [
        ('{"text": "a"}', 0),
        ('{"text": "a", "text": "b"}', 0),  # the last one wins
        ('{"text": "a", "text": 2}', 2),  # the last one is not a string
        ('{"te\\u0078t": "escaped key"}', 0),
        ('{"text": "\\ud83d\\ude00 pair"}', 0),
        ('{"text": "\\ud83d lone"}', 2),
        ('{"text": "\\ude00 lone"}', 2),
        ('{"text": "a", "b": "\\ud800"}', 0),  # a lone surrogate elsewhere is fine
        ('{"text": "a\\x"}', 2),
        ('{"text": "tab\tinside"}', 2),  # a raw control character: invalid JSON
        ('{"text": "a",}', 2),
        ('{"text": "a"} x', 2),
        ('{"text": "a"}\x1c', 0),  # str.strip() space after an object that starts the line
        (' {"text": "a"}\x1c', 2),  # json.loads allows only JSON whitespace
        (' {"text": "a"} ', 0),
        ('{"x": NaN, "text": "a"}', 2),
        ('{"x": 01, "text": "a"}', 2),
        ('{"x": 1.e5, "text": "a"}', 2),
        ('{"x": -0.5E+7, "text": "a"}', 0),
        ('{"x": ' + "1" * 5000 + ', "text": "a"}', 2),  # int() refuses it: Python decides
        ('{"x": ' + "[" * 100 + "]" * 100 + ', "text": "a"}', 2),
        ('{"x": ' + "[" * 60 + "]" * 60 + ', "text": "a"}', 0),
        ('["text"]', 2),
        ('"text"', 2),
        ("\ufeff" + '{"text": "a"}', 2),
        ('{"Text": "a"}', 2),
    ],
)
def test_json_edge_cases(line: str, status: int) -> None:
    assert _check_field(line) == status


# ------------------------------------------------------------------ cleaning


def _check_clean(text: str, steps: int) -> int:
    """Compare the C cleaning of one document with Cleaner's; the C status."""
    got = entries(json.dumps({"text": text}).encode(), steps=steps)
    assert got is not None and len(got) == 1
    status, cleaned, chars, digest = got[0]
    if status == 1:  # Python normalises it
        assert steps & STEP_NFC and not text.isascii()
        return status
    assert status == 0
    stats = CleanStats()
    expected = Cleaner(STEPS[steps], stats)(text)
    assert cleaned.decode() == expected
    assert chars == len(expected)
    assert digest == _native.digest(expected.encode())
    result = native(json.dumps({"text": text}).encode(), steps=steps)
    documents, cleaned_count, control, whitespace = result[-1]
    assert (documents, cleaned_count) == (1, 1)
    assert (control, whitespace, stats.normalized) == (stats.control_chars, stats.whitespace, 0)
    return status


@settings(max_examples=1500, deadline=None)
@given(text=_text(60), steps=st.sampled_from(sorted(STEPS)))
def test_cleaning_equals_the_cleaner(text: str, steps: int) -> None:
    _check_clean(text, steps)


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(
        st.tuples(
            st.text(st.sampled_from(" \t\u3000\xa0\x0b"), max_size=3),
            st.text(st.sampled_from("ab中é\u0301 \t"), max_size=6),
            st.text(st.sampled_from(" \t\x0c\x07\x85"), max_size=3),
            st.sampled_from(["\n", "\r\n", "\r", "\n\n\n\n\n", "\r\x07\n", " \n \n", ""]),
        ),
        max_size=8,
    ),
    steps=st.sampled_from(sorted(STEPS)),
)
def test_cleaning_of_line_structure_equals_the_cleaner(
    lines: list[tuple[str, str, str, str]], steps: int
) -> None:
    _check_clean("".join("".join(parts) for parts in lines), steps)


def _real_texts() -> Iterator[str]:
    from pydoc_data.topics import topics

    yield from (text for _, text in sorted(topics.items()))
    root = Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(root.glob("*.py"))[:60]:
        yield path.read_text(encoding="utf-8", errors="replace")


@pytest.mark.parametrize("steps", sorted(STEPS))
def test_cleaning_real_text_equals_the_cleaner(steps: int) -> None:
    statuses = [_check_clean(text, steps) for text in _real_texts()]
    assert statuses.count(0) > 0.9 * len(statuses)  # nearly all of it is cleaned in C


def test_cleaning_the_shared_corpora_equals_the_cleaner(shared_corpora: Path) -> None:
    for path in sorted(shared_corpora.glob("*/*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines):
                if number % 7 == 0:  # a sample of each file keeps this quick
                    _check_clean(json.loads(line)["text"][:20000], DEFAULT)


def test_the_nfc_check_only_passes_what_is_nfc() -> None:
    """Every code point after a letter, and after a combining mark: when the C pass keeps the
    text (no Python normalisation), Python agrees it is NFC."""
    points = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF and cp not in (10, 13)]
    for prefix in ("a", "a\u0323", "\u1100", "\u0301"):
        block = "\n".join(prefix + chr(cp) for cp in points).encode()
        got = entries(block, json_lines=False, steps=STEP_NFC)
        assert got is not None and len(got) == len(points)
        for cp, (status, _, _, _) in zip(points, got, strict=True):
            if status == 0:
                assert unicodedata.is_normalized("NFC", prefix + chr(cp)), hex(cp)
    hangul = entries("\u1100\u1161".encode(), json_lines=False, steps=STEP_NFC)
    assert hangul is not None and hangul[0][0] == 1  # a jamo pair composes: Python decides


def test_str_isspace_for_every_code_point() -> None:
    points = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF and cp not in (10, 13)]
    block = "\n".join("x" + chr(cp) for cp in points).encode()
    got = entries(block, json_lines=False, steps=STEP_WHITESPACE)
    assert got is not None
    for cp, (_, text, _, _) in zip(points, got, strict=True):
        assert (text == b"x") == chr(cp).isspace(), hex(cp)


# ------------------------------------------------------------------ UTF-8 and blank lines


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=4),
            st.sampled_from(
                [
                    b"\xc2\x80",
                    b"\xe0\xa0\x80",
                    b"\xe0\x80\x80",
                    b"\xed\x9f\xbf",
                    b"\xed\xa0\x80",
                    b"\xf0\x90\x80\x80",
                    b"\xf0\x8f\xbf\xbf",
                    b"\xf4\x8f\xbf\xbf",
                    b"\xf4\x90\x80\x80",
                    b"\xc0\xaf",
                    b"\xc3",
                    b"\n",
                    b"{",
                    b"\xe4\xb8\xad",
                ]
            ),
        ),
        max_size=10,
    )
)
def test_a_block_that_is_not_utf8_is_left_to_python(pieces: list[bytes]) -> None:
    block = b"".join(pieces)
    try:
        block.decode("utf-8")
        valid = True
    except UnicodeDecodeError:
        valid = False
    assert (native(block) is not None) == valid


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(st.sampled_from(" \t\r\x0b\x0c\x1c\x85\xa0\u3000\u2028x"), max_size=4)))
def test_blank_lines_are_what_str_isspace_says(lines: list[str]) -> None:
    block = "\n".join(lines).encode()
    got = entries(block, json_lines=False, steps=0)
    assert got is not None
    assert [text.decode() for _, text, _, _ in got] == [
        line for line in block.decode().split("\n") if line and not line.isspace()
    ]


# ------------------------------------------------------------------ whole runs


def _reference_run(
    data: bytes, json_lines: bool, options: CleanOptions, **reader_options: Any
) -> tuple[list[tuple[int, str, bool]], dict[str, int], dict[str, int]]:
    stats, clean_stats = ReadStats(), CleanStats()
    reader = Reader(
        "x", text_field="text", on_invalid="replace", strict=False, stats=stats, **reader_options
    )
    cleaner = Cleaner(options, clean_stats)
    runs = list(line_runs([data], 0, None, None))
    batches = reader.json_lines(runs) if json_lines else reader.text_lines(runs)
    documents = []
    for batch in batches:
        for record in batch:
            documents.append(_cleaned(cleaner, record))
    return documents, asdict(stats), asdict(clean_stats)


def _cleaned(cleaner: Cleaner, record: Record) -> tuple[int, str, bool]:
    whole = record.part == 0 and record.last
    return record.key, cleaner(record.text) if whole else record.text, whole


def _native_run(
    data: bytes, json_lines: bool, options: CleanOptions, steps: int, **reader_options: Any
) -> tuple[list[tuple[int, str, bool]], dict[str, int], dict[str, int]]:
    stats, clean_stats = ReadStats(), CleanStats()
    reader = Reader(
        "x", text_field="text", on_invalid="replace", strict=False, stats=stats, **reader_options
    )
    cleaner = Cleaner(options, clean_stats)
    runs = list(line_runs([data], 0, None, None))
    native_options = NativeOptions(json=json_lines, field=b"text", steps=steps, digest=True)
    documents = []
    for batch in reader.native_lines(runs, native_options):
        if not isinstance(batch, LineDocuments):
            documents += [_cleaned(cleaner, record) for record in batch]
            continue
        clean_stats.documents += batch.cleaned
        clean_stats.control_chars += batch.control_chars
        clean_stats.whitespace += batch.whitespace
        ends = batch.ends.tolist()
        raw = set(batch.raw.tolist())
        for i, (key, start, end) in enumerate(
            zip(batch.keys.tolist(), [0, *ends], ends, strict=False)
        ):
            text = batch.text[start:end].decode()
            if i in raw:
                text = cleaner(text)
            else:
                assert batch.digests[16 * i : 16 * i + 16] == _native.digest(text.encode())
                assert batch.chars[i] == len(text)
            documents.append((key, text, True))
    return documents, asdict(stats), asdict(clean_stats)


def _corpus_lines(seed: int, count: int) -> list[str]:
    texts = list(_real_texts())
    r = random.Random(seed)
    lines = []
    for _ in range(count):
        text = r.choice(texts)[: r.randint(0, 3000)]
        kind = r.random()
        if kind < 0.6:
            lines.append(
                json.dumps({"id": r.randint(0, 9), "text": text}, ensure_ascii=r.random() < 0.5)
            )
        elif kind < 0.7:
            lines.append(json.dumps({"text": text + r.choice(TRICKY) * 3}))
        elif kind < 0.75:
            lines.append('{"text": "\\ud800 lone", "x": 1}')
        elif kind < 0.8:
            lines.append('{"nope": 1}')
        elif kind < 0.85:
            lines.append('{"text": broken')
        elif kind < 0.9:
            lines.append(r.choice(["", "  ", "\u3000", "\r"]))
        else:
            lines.append(json.dumps({"text": "e\u0301" + text}))
    return lines


@pytest.mark.parametrize("steps", sorted(STEPS))
@pytest.mark.parametrize("seed", [1, 2])
def test_a_run_of_json_lines_reads_like_the_python_reader(steps: int, seed: int) -> None:
    data = "\n".join(_corpus_lines(seed, 300)).encode()
    limits = {"max_chars": 2000, "max_record_bytes": 9000}
    assert _native_run(data, True, STEPS[steps], steps, **limits) == _reference_run(
        data, True, STEPS[steps], **limits
    )


def test_a_run_with_invalid_utf8_is_read_by_python() -> None:
    data = b'{"text": "ok"}\n{"text": "bad \xff byte"}\n{"text": "fine"}'
    assert _native_run(
        data, True, CleanOptions(), DEFAULT, max_chars=None, max_record_bytes=None
    ) == _reference_run(data, True, CleanOptions(), max_chars=None, max_record_bytes=None)


@pytest.mark.parametrize("steps", [DEFAULT, 0])
def test_a_run_of_text_lines_reads_like_the_python_reader(steps: int) -> None:
    r = random.Random(3)
    texts = [t for text in _real_texts() for t in text.split("\n")][:3000]
    r.shuffle(texts)
    data = "\n".join([*texts, "\r", " x \r", "e\u0301", "\u3000"]).encode()
    limits = {"max_chars": 100, "max_record_bytes": None}
    assert _native_run(data, False, STEPS[steps], steps, **limits) == _reference_run(
        data, False, STEPS[steps], **limits
    )


def test_lines_of_the_shared_corpora_read_like_the_python_reader(shared_corpora: Path) -> None:
    for path in sorted(shared_corpora.glob("*/*")):
        data = path.read_bytes()[:3_000_000]
        data = data[: data.rfind(b"\n")]
        json_lines = path.suffix == ".jsonl"
        limits = {"max_chars": 1 << 16, "max_record_bytes": 12 << 16}
        assert _native_run(data, json_lines, CleanOptions(), DEFAULT, **limits) == _reference_run(
            data, json_lines, CleanOptions(), **limits
        ), path.name
