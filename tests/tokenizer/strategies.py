"""Hypothesis strategies for the Unicode that breaks pre-tokenizers."""

from __future__ import annotations

from hypothesis import strategies as st

CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "'Re", "’s", "'", "''"]
WHITESPACE = " \t\n\r\u00a0\u3000\x0b\x0c\u2028\u2009"
EMOJI = [
    "👩‍👩‍👧‍👦",  # family: ZWJ sequence
    "👍🏽",  # skin tone modifier
    "🇫🇷",  # flag: regional indicators
    "❤️",  # variation selector
    "1️⃣",  # keycap
    "🏳️‍🌈",
    "😀",
]


def _chars(lo: int, hi: int) -> st.SearchStrategy[str]:
    return st.text(st.characters(min_codepoint=lo, max_codepoint=hi), min_size=1, max_size=8)


PIECES = st.one_of(
    st.sampled_from(CONTRACTIONS),
    st.text(st.sampled_from(WHITESPACE), min_size=1, max_size=6),
    _chars(0x4E00, 0x9FFF),  # CJK ideographs
    _chars(0x3040, 0x30FF),  # kana
    _chars(0xAC00, 0xD7A3),  # hangul
    _chars(0x0600, 0x06FF),  # Arabic
    _chars(0x05D0, 0x05EA),  # Hebrew
    _chars(0x0300, 0x036F),  # combining marks
    _chars(0x0900, 0x097F),  # Devanagari (with its vowel signs)
    st.sampled_from(EMOJI),
    st.text(st.sampled_from("0123456789٠١٢٣٤٥٦٧٨٩０１２３"), min_size=1, max_size=7),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=10),
    st.text(
        st.sampled_from("ÀÉÎõüßẞǅǈΣσςſ"), min_size=1, max_size=4
    ),  # cased letters, titlecase, long s
)

TRICKY_TEXT = st.lists(PIECES, max_size=16).map("".join)
