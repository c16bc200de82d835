"""The C encoder equals tiktoken (same ranks, same pattern, same special tokens) token for token.

Vocabularies are learned from real text by the C trainer at several sizes, per named pattern;
texts are held-out documents, generated tricky Unicode and any valid str.
"""

from __future__ import annotations

import array
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmio.tokenizer import _native

from .test_native_common import (
    ANY_TEXT,
    PATTERNS,
    TRICKY,
    corpus_docs,
    pydoc_texts,
    stdlib_sources,
    tiktoken_encoding,
    train_tokens,
)

# No special token starts another here: where two could start at one position, tiktoken picks
# by its hash map's order (and skips an allowed one behind a disallowed one), lmio by listing
# order (test_overlapping_specials_first_listed_wins).
SPECIALS = {"<|endoftext|>": 0, "<|fim_prefix|>": 0, "<|end|>": 0}
HYPO = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _train_texts() -> list[str]:
    return list(pydoc_texts()[::2]) + list(stdlib_sources(40)[::2])


def _held_out() -> list[str]:
    return list(pydoc_texts()[1::9]) + list(stdlib_sources(40)[1::4])


class Pair:
    """An lmio Encoder and the tiktoken Encoding with the same ranks, pattern and specials."""

    def __init__(self, tokens: list[bytes], pattern: str) -> None:
        regex_pattern, native = PATTERNS[pattern]
        n = len(tokens)
        self.specials = {name: n + 7 * k for k, name in enumerate(SPECIALS)}  # sparse ids
        self.tokens = tokens
        self.ours = _native.Encoder(tokens, self.specials, native)
        self.tk = tiktoken_encoding(tokens, regex_pattern, self.specials)


_PAIRS: dict[tuple[str, int], Pair] = {}


def pair(pattern: str, vocab: int) -> Pair:
    if (pattern, vocab) not in _PAIRS:
        tokens = train_tokens(_train_texts(), PATTERNS[pattern][1], vocab)
        _PAIRS[pattern, vocab] = Pair(tokens, pattern)
    return _PAIRS[pattern, vocab]


@pytest.mark.parametrize("vocab", [300, 1000, 5000])
@pytest.mark.parametrize("pattern", list(PATTERNS))
def test_held_out_text_equals_tiktoken(pattern: str, vocab: int) -> None:
    p = pair(pattern, vocab)
    assert p.ours.n_vocab == p.tk.n_vocab  # type: ignore[attr-defined]
    for text in _held_out():
        assert p.ours.encode_ordinary(text) == p.tk.encode_ordinary(text)  # type: ignore[attr-defined]


@pytest.mark.parametrize("pattern", list(PATTERNS))
def test_corpora_equal_tiktoken(pattern: str, shared_corpora: Path) -> None:
    """32k vocabulary from english + code + chinese, checked on other documents of each."""
    files = [
        "english/en_eltec_novels.jsonl",
        "code/code_python_numpy.jsonl",
        "chinese/zh_song_ci.jsonl",
        "multilingual/udhr_multilingual.jsonl",
    ]
    docs = {f: corpus_docs(shared_corpora, f, 1_200_000) for f in files}
    train = [d[:800_000] for f in files[:3] for d in docs[f]]
    tokens = train_tokens(train, PATTERNS[pattern][1], 32_000)
    p = Pair(tokens, pattern)
    for f in files:
        text = "".join(docs[f])[-300_000:]
        assert p.ours.encode_ordinary(text) == p.tk.encode_ordinary(text), f  # type: ignore[attr-defined]


@HYPO
@given(text=st.one_of(TRICKY, ANY_TEXT), vocab=st.sampled_from([300, 1000, 5000]))
def test_generated_text_equals_tiktoken(text: str, vocab: int) -> None:
    for pattern in PATTERNS:
        p = pair(pattern, vocab)
        assert p.ours.encode_ordinary(text) == p.tk.encode_ordinary(text), pattern  # type: ignore[attr-defined]


@HYPO
@given(text=st.one_of(TRICKY, ANY_TEXT))
def test_decode_inverts_encode(text: str) -> None:
    for pattern in PATTERNS:
        enc = pair(pattern, 1000).ours
        assert enc.decode_bytes(enc.encode_ordinary(text)) == text.encode()


# ---------------------------------------------------------------- special tokens

SPECIAL_TEXTS = [
    "<|endoftext|>",
    "a<|endoftext|>b",
    "<|endoftext|><|endoftext|>",
    "x <|fim_prefix|>def f(): <|end|>x<|end|>y",
    "<|endoftext",  # incomplete
    "<|<|endoftext|>|>",
    "",
]


@pytest.mark.parametrize("allowed", [set(), {"<|endoftext|>"}, set(SPECIALS), {"<|end|>"}])
@pytest.mark.parametrize("pattern", ["gpt2", "gpt4"])
def test_specials_equal_tiktoken(pattern: str, allowed: set[str]) -> None:
    p = pair(pattern, 1000)
    for text in [*SPECIAL_TEXTS, " ".join(SPECIAL_TEXTS) * 3]:
        expected = p.tk.encode(text, allowed_special=allowed, disallowed_special=())  # type: ignore[attr-defined]
        assert p.ours.encode(text, allowed) == expected, text
        assert p.ours.decode_bytes(p.ours.encode(text, allowed)) == text.encode()


def test_special_ids_decode_and_allowed_forms() -> None:
    p = pair("gpt4", 300)
    ids = p.ours.encode("a<|endoftext|>", ["<|endoftext|>"])  # a list works as a collection
    assert ids[-1] == p.specials["<|endoftext|>"]
    assert p.ours.encode("a<|endoftext|>", frozenset()) == p.ours.encode_ordinary("a<|endoftext|>")
    assert p.ours.encode("<|end|>", {"<|end|>": 1}) == [p.specials["<|end|>"]]  # a dict too


def test_overlapping_specials_first_listed_wins() -> None:
    """Leftmost occurrence of an allowed special; at one start, the first listed."""
    tokens = pair("gpt4", 300).tokens
    enc = _native.Encoder(tokens, {"<a>": 400, "<a>b": 401, "b": 402}, 1)
    assert enc.encode("<a>b", {"<a>", "<a>b"}) == [400, *enc.encode_ordinary("b")]
    assert enc.encode("<a>b", {"<a>b"}) == [401]  # not hidden behind a disallowed one
    assert enc.encode("x<a>b", {"<a>b", "b"}) == [*enc.encode_ordinary("x"), 401]
    enc = _native.Encoder(tokens, {"<a>b": 401, "<a>": 400}, 1)
    assert enc.encode("<a>b", {"<a>", "<a>b"}) == [401]


@HYPO
@given(
    parts=st.lists(st.one_of(TRICKY, st.sampled_from(list(SPECIALS))), max_size=8),
    allowed=st.sets(st.sampled_from(list(SPECIALS))),
)
def test_generated_specials_equal_tiktoken(parts: list[str], allowed: set[str]) -> None:
    text = "".join(parts)
    p = pair("o200k", 1000)
    expected = p.tk.encode(text, allowed_special=allowed, disallowed_special=())  # type: ignore[attr-defined]
    assert p.ours.encode(text, allowed) == expected


# ---------------------------------------------------------------- encode_pieces, decode


@HYPO
@given(st.lists(st.binary(max_size=40), max_size=10))
def test_encode_pieces_equals_tiktoken_single_piece(pieces: list[bytes]) -> None:
    """Arbitrary bytes, invalid UTF-8 included: BPE of each piece as tiktoken does it."""
    p = pair("gpt4", 5000)
    expected = [t for piece in pieces if piece for t in p.tk._encode_single_piece(piece)]  # type: ignore[attr-defined]
    assert p.ours.encode_pieces(pieces) == expected
    assert p.ours.decode_bytes(p.ours.encode_pieces(pieces)) == b"".join(pieces)


def test_custom_pattern_encodes_pieces_only() -> None:
    tokens = pair("gpt4", 1000).tokens
    enc = _native.Encoder(tokens, {}, -1)
    assert enc.encode_pieces([b"hello", b" world"]) == pair("gpt4", 1000).ours.encode_pieces(
        [b"hello", b" world"]
    )
    for call in (
        lambda: enc.encode_ordinary("x"),
        lambda: enc.encode("x", ()),
        lambda: enc.encode_batch(["x"], (), 1),
    ):
        with pytest.raises(ValueError, match="custom pattern"):
            call()


def test_decode_accepts_uint32_buffers() -> None:
    p = pair("gpt4", 1000)
    ids = p.ours.encode_ordinary("Buffers of token ids, decoded without a list.")
    expected = p.tk.decode_bytes(ids)  # type: ignore[attr-defined]
    assert p.ours.decode_bytes(array.array("I", ids)) == expected
    assert p.ours.decode_bytes(np.array(ids, dtype=np.uint32)) == expected
    assert p.ours.decode_bytes(np.array(ids, dtype=np.int64)) == expected  # as a sequence
    assert p.ours.decode_bytes(memoryview(array.array("I", ids).tobytes()).cast("I")) == expected
    assert p.ours.decode_bytes(tuple(ids)) == expected
    assert p.ours.decode_bytes([]) == b""


@pytest.mark.parametrize("bad", [10**6, -1, 2**32, 2**70])
def test_decode_names_unknown_ids(bad: int) -> None:
    p = pair("gpt4", 300)
    with pytest.raises(ValueError, match=str(bad)):
        p.ours.decode_bytes([1, 2, bad])
    if 0 <= bad < 2**32:
        with pytest.raises(ValueError, match=str(bad)):
            p.ours.decode_bytes(array.array("I", [bad]))


# ---------------------------------------------------------------- batch


@pytest.mark.parametrize("threads", [0, 1, 2, 3, 8])
def test_batch_equals_one_by_one(threads: int) -> None:
    p = pair("gpt4", 1000)
    texts = ["", "<|endoftext|>", *_held_out(), "a", "中文" * 50, "x<|end|>y"]
    allowed = {"<|endoftext|>", "<|end|>"}
    tokens, offsets = p.ours.encode_batch(texts, allowed, threads)
    flat = np.frombuffer(tokens, dtype=np.uint32)
    offs = np.frombuffer(offsets, dtype=np.int64)
    assert len(offs) == len(texts) + 1 and offs[0] == 0 and offs[-1] == len(flat)
    for k, text in enumerate(texts):
        assert flat[offs[k] : offs[k + 1]].tolist() == p.ours.encode(text, allowed), k


def test_batch_splits_long_documents_exactly() -> None:
    """Documents over 2 MB are cut at safe points for the threads; the result is the same."""
    p = pair("gpt2", 5000)
    doc = "\n".join(_held_out())
    while len(doc) < 2_500_000:
        doc += "\n" + doc[: len(doc) // 2]
    texts = [doc, "short", doc[:100_000] + "  \n  Word\n"]
    tokens, offsets = p.ours.encode_batch(texts, (), 2)
    flat = np.frombuffer(tokens, dtype=np.uint32)
    offs = np.frombuffer(offsets, dtype=np.int64)
    for k, text in enumerate(texts):
        assert flat[offs[k] : offs[k + 1]].tolist() == p.ours.encode_ordinary(text)
    assert p.ours.encode_batch([], (), 2) == (bytearray(), bytearray(8))


# ---------------------------------------------------------------- never quadratic


@pytest.mark.parametrize(
    "text",
    ["a" * 1_000_000, "7" * 1_000_000, " " * 1_000_000, "中" * 350_000, "ab" * 500_000],
    ids=["letters", "digits", "spaces", "cjk", "ab"],
)
def test_megabyte_runs_finish(text: str) -> None:
    """One piece of a megabyte merges through the heap path, O(n log n)."""
    p = pair("gpt2", 5000)
    ids = p.ours.encode_ordinary(text)
    assert p.ours.decode_bytes(ids) == text.encode()
    if len(p.ours.pretokenize(text)) == 1:
        assert p.ours.encode_pieces([text.encode()]) == ids


def test_long_pieces_equal_tiktoken() -> None:
    p = pair("gpt4", 5000)
    for text in ["a" * 20_000, "ab" * 7_000, "中文字" * 3_000, "x" + "\u0301" * 5_000]:
        assert p.ours.encode_ordinary(text) == p.tk.encode_ordinary(text)  # type: ignore[attr-defined]


# ---------------------------------------------------------------- construction errors


def test_constructor_errors() -> None:
    byte_tokens = [bytes([b]) for b in range(256)]
    with pytest.raises(ValueError, match="0x41 is not a token"):
        _native.Encoder([t for t in byte_tokens if t != b"A"], {}, 0)
    with pytest.raises(ValueError, match="same bytes"):
        _native.Encoder([*byte_tokens, b"ab", b"ab"], {}, 0)
    with pytest.raises(ValueError, match="empty"):
        _native.Encoder([*byte_tokens, b""], {}, 0)
    with pytest.raises(ValueError, match="already the id"):
        _native.Encoder(byte_tokens, {"<s>": 5}, 0)
    with pytest.raises(ValueError, match="empty string"):
        _native.Encoder(byte_tokens, {"": 300}, 0)
    with pytest.raises(ValueError, match="out of range"):
        _native.Encoder(byte_tokens, {"<s>": 2**32}, 0)
    with pytest.raises(ValueError, match="pattern"):
        _native.Encoder(byte_tokens, {}, 4)
    with pytest.raises(TypeError):
        _native.Encoder(["a", *byte_tokens], {}, 0)  # type: ignore[list-item]
    enc = _native.Encoder(byte_tokens, {"<s>": 1000}, 0)
    assert enc.n_vocab == 1001
    with pytest.raises(RuntimeError, match="already"):  # threads may be using it
        enc.__init__(byte_tokens, {}, 0)  # type: ignore[misc]
    assert enc.encode_ordinary("") == [] and enc.encode("", ()) == []
    with pytest.raises(UnicodeEncodeError):
        enc.encode_ordinary("\udcff")
    with pytest.raises(TypeError):
        enc.encode_ordinary(b"bytes")  # type: ignore[arg-type]


@HYPO
@given(st.lists(ANY_TEXT, max_size=12), st.integers(1, 3))
def test_encode_utf8_batch_equals_encode_batch(texts: list[str], threads: int) -> None:
    """Documents given as one UTF-8 buffer and int64 offsets: the same tokens as encode_batch
    (special-token text is ordinary text there)."""
    p = pair("gpt4", 1000)
    data = [text.encode("utf-8", "replace") for text in texts]
    offsets = np.cumsum([0, *map(len, data)], dtype=np.int64)
    tokens, bounds = p.ours.encode_utf8_batch(b"".join(data), offsets, threads)
    expected = p.ours.encode_batch([d.decode() for d in data], (), threads)
    assert (bytes(tokens), bytes(bounds)) == (bytes(expected[0]), bytes(expected[1]))


def test_encode_utf8_batch_takes_offsets_that_skip_bytes() -> None:
    p = pair("gpt4", 1000)
    tokens, bounds = p.ours.encode_utf8_batch(
        b"xxhello world!yy", np.array([2, 7, 7, 14], dtype=np.int64), 1
    )
    assert np.frombuffer(bounds, dtype=np.int64).tolist()[0] == 0
    flat = np.frombuffer(tokens, dtype=np.uint32)
    cuts = np.frombuffer(bounds, dtype=np.int64)
    assert p.ours.decode_bytes(flat[cuts[0] : cuts[1]]) == b"hello"
    assert cuts[1] == cuts[2]
    assert p.ours.decode_bytes(flat[cuts[2] : cuts[3]]) == b" world!"


@pytest.mark.parametrize(
    ("offsets", "error"),
    [
        (np.array([0, 5, 3], dtype=np.int64), ValueError),  # decreasing
        (np.array([0, 99], dtype=np.int64), ValueError),  # past the end
        (np.array([-1, 2], dtype=np.int64), ValueError),
        (np.array([], dtype=np.int64), TypeError),
        (np.array([0, 2], dtype=np.int32), TypeError),
    ],
)
def test_encode_utf8_batch_refuses_bad_offsets(offsets: np.ndarray, error: type) -> None:
    with pytest.raises(error):
        pair("gpt4", 1000).ours.encode_utf8_batch(b"hello", offsets, 1)


@HYPO
@given(st.binary(max_size=3000), st.lists(st.integers(0, 3000), max_size=6))
def test_the_dedup_digest_is_xxh3_128_however_the_bytes_are_cut(
    data: bytes, cuts: list[int]
) -> None:
    xxhash = pytest.importorskip("xxhash")
    expected = xxhash.xxh3_128_digest(data)
    assert _native.digest(data) == expected
    digest = _native.Digest()
    start = 0
    for cut in sorted(cut % (len(data) + 1) for cut in cuts):
        digest.update(data[start:cut])
        start = cut
    digest.update(data[start:])
    assert digest.digest() == expected


def test_the_dedup_digest_streams_long_inputs_in_pieces_of_any_size() -> None:
    """Pieces at, under and over a stripe (64 bytes) and a block: stripes are taken from the
    caller's bytes where whole ones are there, through the buffer elsewhere."""
    xxhash = pytest.importorskip("xxhash")
    data = np.random.default_rng(1).integers(0, 256, 100_003, dtype=np.uint8).tobytes()
    for step in (1, 63, 64, 65, 200, 1000, 1024, 4097, 65_536):
        digest = _native.Digest()
        for start in range(0, len(data), step):
            digest.update(data[start : start + step])
        assert digest.digest() == xxhash.xxh3_128_digest(data), step


def test_the_dedup_digest_of_long_inputs() -> None:
    xxhash = pytest.importorskip("xxhash")
    data = np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
    for size in (0, 1, 16, 17, 128, 129, 240, 241, 1024, 1025, 1088, 16384, 16385, 300_000):
        assert _native.digest(data[:size]) == xxhash.xxh3_128_digest(data[:size]), size


@HYPO
@given(st.lists(st.lists(st.integers(0, 2000), max_size=800), max_size=6))
def test_the_digest_set_answers_as_a_python_set(runs: list[list[int]]) -> None:
    """Digests repeat within a run and across runs; zeros are a digest like any other; runs
    of up to 800 grow the table past its first size (1024 slots)."""
    native = _native.DigestSet()
    reference: set[bytes] = set()  # the Python the C replaces
    for run in runs:
        digests = [key.to_bytes(16, "little") for key in run]
        expected = []
        for digest in digests:
            expected.append(int(digest not in reference))
            reference.add(digest)
        assert list(native.add(b"".join(digests))) == expected
    assert len(native) == len(reference)


def test_the_digest_set_refuses_a_partial_digest() -> None:
    with pytest.raises(ValueError, match="digests are 16 bytes each; got 17 bytes"):
        _native.DigestSet().add(bytes(17))


@HYPO
@given(st.lists(st.text(max_size=30), max_size=8), st.data())
def test_encode_utf8_batch_appends_and_narrows(texts: list[str], data: st.DataObject) -> None:
    """An id appended after the flagged documents, the ids in 16 bits: the same as appending
    and casting the plain result."""
    p = pair("gpt4", 1000)
    raw = [text.encode("utf-8", "replace") for text in texts]
    offsets = np.cumsum([0, *map(len, raw)], dtype=np.int64)
    flags = np.array(
        data.draw(st.lists(st.booleans(), min_size=len(raw), max_size=len(raw))), dtype=np.uint8
    )
    plain, cuts = p.ours.encode_utf8_batch(b"".join(raw), offsets, 1)
    flat = np.frombuffer(plain, dtype=np.uint32)
    bounds = np.frombuffer(cuts, dtype=np.int64)
    expected = np.insert(flat, bounds[1:][flags.astype(bool)], 999).astype(np.uint16)
    tokens, got_bounds = p.ours.encode_utf8_batch(
        b"".join(raw), offsets, 1, append=flags, token=999, itemsize=2
    )
    assert np.array_equal(np.frombuffer(tokens, dtype=np.uint16), expected)
    assert np.array_equal(
        np.frombuffer(got_bounds, dtype=np.int64),
        bounds + np.concatenate([[0], np.cumsum(flags)]),
    )


def test_encode_utf8_batch_refuses_ids_that_do_not_fit() -> None:
    p = pair("gpt4", 1000)
    offsets = np.array([0, 2], dtype=np.int64)
    with pytest.raises(ValueError, match="does not fit in 2 bytes"):
        p.ours.encode_utf8_batch(b"ab", offsets, 1, append=b"\x01", token=70000, itemsize=2)
    with pytest.raises(ValueError, match="one byte per document"):
        p.ours.encode_utf8_batch(b"ab", offsets, 1, append=b"\x01\x01", token=1)
    with pytest.raises(ValueError, match="itemsize"):
        p.ours.encode_utf8_batch(b"ab", offsets, 1, itemsize=3)
