"""Helpers shared by the C core's tests (test_native_*.py): texts, strategies, vocabularies.

No tests here; pytest collects the module and finds none.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path

import regex
from hypothesis import strategies as st

from lmio.tokenizer import _native
from lmio.tokenizer._patterns import NAMED_PATTERNS

PATTERNS = {name: (p.regex, p.native_id) for name, p in NAMED_PATTERNS.items()}
assert [p[1] for p in PATTERNS.values()] == [0, 1, 2, 3]

# ---------------------------------------------------------------- real text


@cache
def pydoc_texts() -> tuple[str, ...]:
    from pydoc_data.topics import topics

    return tuple(text for _, text in sorted(topics.items()))


@cache
def stdlib_sources(limit: int = 60) -> tuple[str, ...]:
    """Python source files of the standard library (real code), sorted for determinism."""
    lib = Path(json.__file__).resolve().parents[1]
    files = sorted(lib.glob("*.py"))[:limit]
    return tuple(p.read_text(encoding="utf-8", errors="replace") for p in files)


def corpus_docs(shared: Path, relpath: str, max_bytes: int) -> list[str]:
    """The first documents of a ../shared/corpora file, about max_bytes of them."""
    path = shared / relpath
    docs: list[str] = []
    size = 0
    with path.open(encoding="utf-8") as f:
        for line in f:
            text = json.loads(line)["text"] if path.suffix == ".jsonl" else line
            docs.append(text[:max_bytes])
            size += len(docs[-1])
            if size >= max_bytes:
                break
    return docs


# ---------------------------------------------------------------- Unicode versions

# The scanners follow tiktoken's Unicode tables, which lag the `regex` module's (the differences
# are listed in csrc/unicode_tables.c by tools/gen_unicode_tables.py). Comparisons with
# `regex.findall` therefore use only characters that both classify alike.
CLASS_PATTERNS = {
    1: r"\p{L}",
    2: r"\p{N}",
    4: r"\s",
    8: r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]",
    16: r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]",
}


@cache
def regex_flags() -> bytes:
    """The scanners' class flags of every code point, as the `regex` module sees them."""
    flags = bytearray(0x110000)
    text = "".join(chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF)
    for bit, pattern in CLASS_PATTERNS.items():
        for ch in regex.findall(pattern, text):
            flags[ord(ch)] |= bit
    return bytes(flags)


@cache
def version_stable(ch: str) -> bool:
    cp = ord(ch)
    return not 0xD800 <= cp <= 0xDFFF and regex_flags()[cp] == _native._unicode_flags(cp)


def stable_text(text: str) -> str:
    return "".join(c if version_stable(c) else "?" for c in text)


# ---------------------------------------------------------------- hypothesis strategies


def _run(lo: int, hi: int, max_size: int = 8) -> st.SearchStrategy[str]:
    return st.text(st.characters(min_codepoint=lo, max_codepoint=hi), min_size=1, max_size=max_size)


CONTRACTIONS = [
    *["'s", "'S", "'t", "'T", "'d", "'D", "'m", "'M", "'ll", "'LL", "'lL", "'Ll"],
    *["'ve", "'VE", "'vE", "'re", "'RE", "'rE"],
    "'ſ",
    "'ſt",
    "'K",
    "'x",
    "'",
    "''",
    "’s",
    "'s'",
]
WHITESPACE = " \t\n\r\x0b\x0c\x85\u00a0\u1680\u2000\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_WHITESPACE = "\x1c\x1d\x1e\x1f\u200b\u180e\ufeff"  # \s in Python's re, not in Rust / regex
EMOJI = ["👩‍👩‍👧‍👦", "👍🏽", "👍🏿", "🇫🇷", "🇯🇵", "❤️", "1️⃣", "🏳️‍🌈", "😀", "🧑🏽‍💻", "#️⃣"]
DIGITS = "0123456789٠١٢٣٤٥٦٧٨٩۰۱۲०१२३০১௧๑๒０１２３²³¹½¼ⅫⅣ㉑"
CASED = "ÀÉÎõüßẞǅǈǋΣσςſİıKÅΩ"
PUNCT = '!?.,;:/\\-_()[]{}<>"`~@#$%^&*+=|，。、「」—…·‐'

PIECES = st.one_of(
    st.sampled_from(CONTRACTIONS),
    st.text(st.sampled_from(WHITESPACE + NOT_WHITESPACE), min_size=1, max_size=6),
    st.text(st.sampled_from(" \r\n"), min_size=1, max_size=6),
    st.text(st.sampled_from("abcXYZ"), min_size=1, max_size=8),
    _run(0x4E00, 0x9FFF),  # CJK ideographs
    _run(0x3040, 0x30FF),  # kana
    _run(0xAC00, 0xD7A3),  # hangul syllables
    _run(0x0621, 0x064A),  # Arabic letters
    _run(0x064B, 0x065F, 3),  # Arabic marks
    _run(0x05D0, 0x05EA),  # Hebrew
    _run(0x0300, 0x036F, 3),  # combining marks
    _run(0x0900, 0x097F),  # Devanagari, vowel signs included (Mc, Mn)
    _run(0x0E01, 0x0E5B),  # Thai
    st.sampled_from(EMOJI),
    st.text(st.sampled_from(DIGITS), min_size=1, max_size=8),
    st.text(st.sampled_from(CASED), min_size=1, max_size=4),
    st.text(st.sampled_from(PUNCT), min_size=1, max_size=4),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=10),
)

TRICKY = st.lists(PIECES, max_size=24).map("".join)
"""Text made of the pieces that break pre-tokenizers, in every order."""

ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
"""Any valid str (no lone surrogates)."""

# ---------------------------------------------------------------- vocabularies


def train_tokens(texts: Sequence[str], pattern: int, vocab: int) -> list[bytes]:
    """Token bytes in id order, learned by the C trainer (identity byte order)."""
    counter = _native.WordCounter(pattern, [])
    counter.add_texts(list(texts), 2)
    merges = _native.train_bpe(
        counter, byte_order=bytes(range(256)), target_tokens=vocab, min_frequency=0
    )
    return tokens_from_merges(bytes(range(256)), merges)


def tokens_from_merges(byte_order: bytes, merges: Sequence[tuple[int, int, int]]) -> list[bytes]:
    tokens = [bytes([b]) for b in byte_order]
    for left, right, new in merges:
        if new == len(tokens):
            tokens.append(tokens[left] + tokens[right])
        else:  # a repeated merge reuses an existing token
            assert new < len(tokens) and tokens[new] == tokens[left] + tokens[right]
    return tokens


def tiktoken_encoding(
    tokens: Sequence[bytes], pattern: str, specials: dict[str, int] | None = None
) -> object:
    import tiktoken

    return tiktoken.Encoding(
        "lmio-test",
        pat_str=pattern,
        mergeable_ranks={t: i for i, t in enumerate(tokens)},
        special_tokens=specials or {},
    )


def piece_vocab(pieces: Iterator[str]) -> list[bytes]:
    """All single bytes, then each distinct multi-byte piece as one token."""
    tokens = [bytes([b]) for b in range(256)]
    seen = set(tokens)
    for piece in pieces:
        b = piece.encode()
        if b not in seen:
            seen.add(b)
            tokens.append(b)
    return tokens


# ---------------------------------------------------------------- HF's byte-level alphabet


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character map (HF ByteLevel)."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    mapping = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


B2U = bytes_to_unicode()
HF_BYTE_ORDER = bytes(sorted(B2U, key=lambda b: B2U[b]))
"""HF's initial ids: the byte-level characters sorted by code point."""


def hf_string(token: bytes) -> str:
    return "".join(B2U[b] for b in token)
