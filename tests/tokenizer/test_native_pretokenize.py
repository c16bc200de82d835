"""The C scanners split text exactly like the named regexes do under tiktoken's engine.

Two oracles: the `regex` module (`regex.findall(PATTERN, text)`, on characters whose Unicode
class the `regex` module and tiktoken agree on), and tiktoken itself through full encodings
(any text): with a vocabulary holding every single byte plus each piece as one token, an
encoder emits one token per piece, so equal encodings mean equal splits.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import regex
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lmio.tokenizer import _native

from .test_native_common import (
    ANY_TEXT,
    PATTERNS,
    TRICKY,
    corpus_docs,
    piece_vocab,
    pydoc_texts,
    regex_flags,
    stable_text,
    stdlib_sources,
    tiktoken_encoding,
    version_stable,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BYTES = [bytes([b]) for b in range(256)]


@pytest.fixture(scope="module")
def scanners() -> dict[str, _native.Encoder]:
    return {name: _native.Encoder(BYTES, {}, native) for name, (_, native) in PATTERNS.items()}


def check_regex(scanners: dict[str, _native.Encoder], text: str) -> None:
    for name, (pattern, _) in PATTERNS.items():
        assert scanners[name].pretokenize(text) == regex.findall(pattern, text), (name, text)


def check_tiktoken(scanners: dict[str, _native.Encoder], text: str) -> None:
    for name, (pattern, native) in PATTERNS.items():
        ours = scanners[name].pretokenize(text)
        tokens = piece_vocab(iter(ours + regex.findall(pattern, text)))
        expected = tiktoken_encoding(tokens, pattern).encode_ordinary(text)  # type: ignore[attr-defined]
        got = _native.Encoder(tokens, {}, native).encode_ordinary(text)
        assert got == expected, (name, text, ours)


# ---------------------------------------------------------------- hand-picked cases

CASES = [
    "",
    " ",
    "Hello world",
    "a  b   c    d",  # \s+(?!\S) leaves a run's last space to the word
    "trailing   ",  # \s++$
    "  \n  ",
    "x  \n\n  y",
    "\r\n\r\n",
    "line1\r\nline2\n\n\nline3\n",
    "\t\tindent\tx",
    "it's It'S IT'LL we'Re you'VE I'm he'D don't ’s 'sa 'ſt 'ſ 'K ''",
    "x'LLy 'll've're",
    "1234567 12 123 ١٢٣٤٥ ０１２３４ 3.14159 1,000,000 ²³ Ⅻ",
    "HelloWorld ABCdef camelCase XMLHttpRequest ÀÉÎéa ǅemal ΣΑΣ σας",
    "中文测试，你好。\n下一行！「引号」",
    "日本語のテキスト、カタカナ。한국어 텍스트",
    "مرحبا بالعالم שלום עולם",
    "e\u0301 a\u0308 \u0915\u093f \u0301x \u0301 \u0301\u0302",
    "👩‍👩‍👧‍👦 👍🏽 🇫🇷🇯🇵 ❤️ 1️⃣ 🏳️‍🌈",
    "!!! ??\n\n ...\n/ // /\n",
    "a/\n/b :)\r\n",
    "\u00a0\u3000x\u00a0 \x0b\x0c\x85y \u2028z",
    "\x1c\x1d\x1e\x1fx",  # not whitespace in Rust or the regex module
    "\u200bzero\u200bwidth\ufeff",
    "A'B 'S' x' 's",
]


@pytest.mark.parametrize("text", CASES)
def test_cases_match_regex(scanners: dict[str, _native.Encoder], text: str) -> None:
    check_regex(scanners, text)


@pytest.mark.parametrize("text", CASES)
def test_cases_match_tiktoken(scanners: dict[str, _native.Encoder], text: str) -> None:
    check_tiktoken(scanners, text)


def test_gpt4_and_llama3_differ_only_at_the_end() -> None:
    gpt4 = _native.Encoder(BYTES, {}, _native.PATTERN_GPT4)
    llama3 = _native.Encoder(BYTES, {}, _native.PATTERN_LLAMA3)
    assert gpt4.pretokenize("x\n  ") == ["x", "\n  "]  # \s++$ first
    assert llama3.pretokenize("x\n  ") == ["x", "\n", "  "]  # \s*[\r\n]+ first


def test_long_s_folds_like_tiktoken() -> None:
    """tiktoken's (?i) matches U+017F to s (checked by tools/gen_unicode_tables.py)."""
    gpt4 = _native.Encoder(BYTES, {}, _native.PATTERN_GPT4)
    assert gpt4.pretokenize("'ſt") == ["'ſ", "t"]
    assert _native.Encoder(BYTES, {}, _native.PATTERN_GPT2).pretokenize("'ſt") == ["'", "ſt"]


# ---------------------------------------------------------------- generated text


@SETTINGS
@given(TRICKY)
@example("a'll  \u0301b")
def test_tricky_text_matches_regex(scanners: dict[str, _native.Encoder], text: str) -> None:
    check_regex(scanners, stable_text(text))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_TEXT)
def test_any_text_matches_tiktoken(scanners: dict[str, _native.Encoder], text: str) -> None:
    check_tiktoken(scanners, text)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TRICKY)
def test_tricky_text_matches_tiktoken(scanners: dict[str, _native.Encoder], text: str) -> None:
    check_tiktoken(scanners, text)


@settings(max_examples=150, deadline=None)
@given(st.text(st.sampled_from(" \t\n\r\u00a0\u3000\x0bab1'!\u0301"), max_size=30))
def test_whitespace_runs_match_regex(scanners: dict[str, _native.Encoder], text: str) -> None:
    check_regex(scanners, text)


# ---------------------------------------------------------------- real text


def _real_texts() -> list[str]:
    return list(pydoc_texts()[::3]) + list(stdlib_sources(30))


def test_python_docs_and_sources_match_regex(scanners: dict[str, _native.Encoder]) -> None:
    for text in _real_texts():
        check_regex(scanners, stable_text(text))


@pytest.mark.parametrize(
    "relpath",
    [
        "english/en_eltec_novels.jsonl",
        "code/code_python_numpy.jsonl",
        "chinese/zh_song_ci.jsonl",
        "multilingual/udhr_multilingual.jsonl",
        "multilingual/emoji_cldr_names_multilingual.txt",
        "multilingual/ud_th_sentences.txt",
        "multilingual/ud_hi_sentences.txt",
    ],
)
def test_corpora_match_regex(
    scanners: dict[str, _native.Encoder], shared_corpora: Path, relpath: str
) -> None:
    text = "".join(corpus_docs(shared_corpora, relpath, 100_000))
    check_regex(scanners, stable_text(text))


# ---------------------------------------------------------------- the Unicode tables


def test_every_stable_code_point_in_context_matches_regex(
    scanners: dict[str, _native.Encoder],
) -> None:
    """Each class distinction of each assigned character shows in some context."""
    uniform = [(0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xE000, 0xF8FF)]
    unassigned = regex.compile(r"\p{Cn}")
    code_points = [
        cp
        for cp in range(0x80, 0x30000)
        if cp < 0x20000 or cp % 64 == 0  # CJK extensions B.. are all Lo: a sample suffices
        if not any(lo <= cp <= hi for lo, hi in uniform) or cp % 64 == 0
    ]
    chars = [
        chr(cp)
        for cp in code_points
        if version_stable(chr(cp)) and not unassigned.match(chr(cp)) and not 0xD800 <= cp <= 0xDFFF
    ]
    random.Random(3).shuffle(chars)
    # letters, uppercase and lowercase neighbours (o200k), digits, spaces, apostrophes
    contexts = ["a{}a ", "A{}A ", "{}a ", "1{}1 ", " {} ", "'{}' ", "{}{} "]
    for k, ctx in enumerate(contexts):  # each character in two or three contexts
        text = "".join(ctx.format(c, c) for c in chars[k % 3 :: 3])
        check_regex(scanners, text)


def test_tables_are_the_regex_module_minus_newer_unicode() -> None:
    """Where the table and the `regex` module differ, the regex module knows a newer Unicode:
    it puts the character in a class the table (tiktoken's) does not; U+0295 moved class."""
    theirs = regex_flags()
    differ = [cp for cp in range(0x110000) if theirs[cp] != _native._unicode_flags(cp)]
    for cp in differ:
        ours = _native._unicode_flags(cp)
        assert cp == 0x295 or ours & ~theirs[cp] == 0, hex(cp)
    assert len(differ) < 40_000  # Unicode 17's additions (see csrc/unicode_tables.c)


def test_regex_module_only_code_points_follow_tiktoken(
    scanners: dict[str, _native.Encoder],
) -> None:
    """Where the regex module's newer Unicode disagrees, the split is tiktoken's."""
    newer = [chr(cp) for cp in range(0x80, 0x40000) if not version_stable(chr(cp))]
    newer = [c for c in newer if not 0xD800 <= ord(c) <= 0xDFFF]
    sample = [*random.Random(5).sample(newer, min(300, len(newer))), "\u0295"]
    text = "".join(f"a{c}a A{c} 1{c}1 " for c in sample)
    check_tiktoken(scanners, text)


# ---------------------------------------------------------------- long inputs, odd inputs


def test_long_runs_are_one_pass(scanners: dict[str, _native.Encoder]) -> None:
    for text in ["a" * 300_000, "1" * 300_000, " " * 300_000, "中" * 100_000, "\u0301" * 50_000]:
        for name, (pattern, _) in PATTERNS.items():
            pieces = scanners[name].pretokenize(text)
            assert "".join(pieces) == text
            if len(text) <= 100_000:
                assert pieces == regex.findall(pattern, text), name


def test_surrogates_raise_unicode_error(scanners: dict[str, _native.Encoder]) -> None:
    with pytest.raises(UnicodeEncodeError):
        scanners["gpt4"].pretokenize("a\ud800b")


def test_custom_pattern_has_no_scanner() -> None:
    enc = _native.Encoder(BYTES, {}, -1)
    with pytest.raises(ValueError, match="custom pattern"):
        enc.pretokenize("text")
