"""`lmio.text.clean`: each step, its switch, its counts, and cleaning in parts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmio.errors import InvalidArgumentError
from lmio.text import Cleaner, CleanOptions, CleanStats, clean
from lmio.text._sources import cut_point

OFF = CleanOptions.none()


def test_defaults_normalise_nfc_drop_controls_and_tidy_whitespace() -> None:
    assert clean("  Cafe\u0301\x07 menu\r\n\n\n\n\nend  ") == "Café menu\n\n\nend"


def test_default_keeps_code_indentation_and_two_blank_lines() -> None:
    code = "import os\n\n\ndef f(x):\n    if x:\n\treturn 1\n\n    return 2"
    assert clean(code) == code


def test_trailing_spaces_and_carriage_returns() -> None:
    assert clean("a  \nb\t\r\nc\rd") == "a\nb\nc\nd"
    assert clean("a\n \n \n \n\nb") == "a\n\n\nb"  # lines of spaces become blank, then collapse


def test_every_step_can_be_switched_off() -> None:
    text = " Cafe\u0301\x07\r\n\n\n\n\nX "
    assert clean(text, options=OFF) == text
    assert clean(text, options=CleanOptions(normalization=None)) == "Cafe\u0301\n\n\nX"
    assert clean(text, options=CleanOptions(remove_control=False)) == "Café\x07\n\n\nX"
    assert clean(text, options=CleanOptions(whitespace=False)) == " Café\r\n\n\n\n\nX "


def test_nfkc_lowercase_and_categories_are_options() -> None:
    assert clean("ﬁ ① Ｈ", options=CleanOptions(normalization="NFKC")) == "fi 1 H"
    assert clean("ﬁ ① Ｈ") == "ﬁ ① Ｈ"  # NFC keeps compatibility characters
    assert clean("ÀΣΑΣ Straße", options=CleanOptions(lowercase=True)) == "àσας straße"
    letters = CleanOptions(keep_categories=("L", "Zs"))
    assert clean("a1, b2!\n中文 🙂", options=letters) == "a b\n中文"
    assert clean("x1y", options=CleanOptions(keep_categories=("Ll",))) == "xy"


def test_stats_count_documents_per_step_and_characters_removed() -> None:
    stats = CleanStats()
    cleaner = Cleaner(CleanOptions(lowercase=True, keep_categories=("L", "Z")), stats)
    cleaner("Cafe\u0301\x00\x01!")
    cleaner("plain")
    cleaner(" Spaced ")
    assert stats.documents == 3
    assert stats.control_chars == 2
    assert stats.normalized == 1
    assert stats.lowercased == 2
    assert stats.category_chars == 1
    assert stats.whitespace == 1


def test_ascii_text_needing_nothing_is_returned_as_is() -> None:
    text = "Nothing to do here.\n\nReally."
    assert clean(text) is text


TEXT = st.text(
    st.sampled_from(list("ab Z9 \t\n\r\x00\x07\u0301\u00e9\u00a0\u3000ﬁΣ.-中\x85")),
    min_size=0,
    max_size=200,
)


@settings(max_examples=200, deadline=None)
@given(
    text=TEXT,
    options=st.sampled_from(
        [
            CleanOptions(),
            CleanOptions(normalization="NFKC", lowercase=True),
            CleanOptions(keep_categories=("L", "N", "Z")),
        ]
    ),
)
def test_cleaning_in_parts_equals_cleaning_whole(text: str, options: CleanOptions) -> None:
    # Long documents are cut where a letter or digit is followed by a space; every step
    # works on runs that never cross such a place.
    text = (text + " word ") * 5
    parts, rest = [], text
    while len(rest) > 30:
        cut = cut_point(rest, 30)
        if cut is None:
            break
        parts.append(rest[:cut])
        rest = rest[cut:]
    parts.append(rest)
    whole_stats, part_stats = CleanStats(), CleanStats()
    whole = Cleaner(options, whole_stats)(text)
    cleaner = Cleaner(options, part_stats)
    pieces = [cleaner(part, first=i == 0, last=i == len(parts) - 1) for i, part in enumerate(parts)]
    assert "".join(pieces) == whole
    assert whole_stats == part_stats


def test_cut_point_needs_a_letter_or_digit_before_a_space() -> None:
    assert cut_point("abc def ghi", 8) == 7
    assert cut_point("abc. def", 7) is None  # a period before the only space
    assert cut_point("x" * 20, 10) is None
    assert cut_point("abc de", 5) == 3
    assert cut_point("ab cdef", 6) is None  # only past half the limit: parts stay large


def test_steps_by_name() -> None:
    assert CleanOptions.from_steps(["default"]) == CleanOptions()
    assert CleanOptions.from_steps(["none"]) == CleanOptions.none()
    nfkc = CleanOptions.from_steps(["nfkc", "whitespace", "lowercase"], min_chars=5)
    assert nfkc == CleanOptions(
        normalization="NFKC", remove_control=False, lowercase=True, dedup=False, min_chars=5
    )
    assert CleanOptions.from_dict(nfkc.to_dict()) == nfkc


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: CleanOptions.from_steps(["nfc", "shout"]), "unknown cleaning step 'shout'"),
        (lambda: CleanOptions.from_steps(["nfc", "nfkc"]), "nfc or nfkc, not both"),
        (lambda: CleanOptions(normalization="NFD"), "normalization must be"),  # type: ignore[arg-type]
        (lambda: CleanOptions(keep_categories=("Letters",)), "unknown Unicode categories"),
        (lambda: CleanOptions(min_chars=10, max_chars=5), "max_chars=5 is below min_chars=10"),
        (lambda: CleanOptions(min_chars=-1), "min_chars must be 0 or more"),
    ],
)
def test_bad_options_are_refused(make: object, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        make()  # type: ignore[operator]


OPTIONS = st.sampled_from(
    [
        CleanOptions(),
        CleanOptions(normalization="NFKC", lowercase=True),
        CleanOptions(keep_categories=("L", "N", "Z")),
        OFF,
    ]
)


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(TEXT, max_size=8), options=OPTIONS)
def test_cleaning_a_batch_equals_cleaning_each_document(
    texts: list[str], options: CleanOptions
) -> None:
    one_by_one, batched = CleanStats(), CleanStats()
    single = Cleaner(options, one_by_one)
    assert Cleaner(options, batched).clean_batch(texts) == [single(text) for text in texts]
    assert batched == one_by_one
