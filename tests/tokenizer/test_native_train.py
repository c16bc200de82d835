"""The C trainer learns what Hugging Face tokenizers' BpeTrainer learns, byte for byte.

HF setup: `Tokenizer(BPE())`, `ByteLevel(add_prefix_space=False)` pre-tokenizer (its GPT-2
regex equals the gpt2 pattern), `BpeTrainer(vocab_size=N, min_frequency=M, initial_alphabet=
ByteLevel.alphabet())`. Compared: `model.vocab` (token strings in HF's byte-level alphabet ->
ids) and `model.merges` (HF keeps each pair once, in the order of its last merge).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmio.tokenizer import _native

from .test_native_common import (
    HF_BYTE_ORDER,
    PATTERNS,
    TRICKY,
    corpus_docs,
    hf_string,
    pydoc_texts,
    stdlib_sources,
    tokens_from_merges,
)


def hf_train(texts: list[str], vocab: int, min_frequency: int = 0) -> tuple[dict[str, int], list]:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab,
        min_frequency=min_frequency,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    model = json.loads(tok.to_str())["model"]
    merges = [m.split(" ") if isinstance(m, str) else m for m in model["merges"]]
    return model["vocab"], merges


def lmio_train(
    texts: list[str], vocab: int, min_frequency: int = 0, threads: int = 2
) -> tuple[dict[str, int], list, list[tuple[int, int, int]]]:
    counter = _native.WordCounter(_native.PATTERN_GPT2, [])
    counter.add_texts(texts, threads)
    merges = _native.train_bpe(
        counter, byte_order=HF_BYTE_ORDER, target_tokens=vocab, min_frequency=min_frequency
    )
    tokens = tokens_from_merges(HF_BYTE_ORDER, merges)
    vocab_map = {hf_string(t): i for i, t in enumerate(tokens)}
    last = {(left, right): rank for rank, (left, right, _) in enumerate(merges)}
    hf_merges = [
        [hf_string(tokens[left]), hf_string(tokens[right])]
        for left, right in sorted(last, key=last.__getitem__)
    ]
    return vocab_map, hf_merges, merges


def assert_same_as_hf(texts: list[str], vocab: int, min_frequency: int = 0) -> None:
    hf_vocab, hf_merges = hf_train(texts, vocab, min_frequency)
    ours_vocab, ours_merges, _ = lmio_train(texts, vocab, min_frequency)
    assert len(ours_vocab) == len(hf_vocab)
    if ours_merges != hf_merges:
        first = next(
            k for k, (a, b) in enumerate(zip(ours_merges, hf_merges, strict=False)) if a != b
        )
        pytest.fail(f"merge {first} differs: lmio {ours_merges[first]} HF {hf_merges[first]}")
    assert ours_vocab == hf_vocab


@pytest.mark.parametrize("vocab", [500, 2000, 8000])
def test_python_docs_equal_hf(vocab: int) -> None:
    assert_same_as_hf(list(pydoc_texts()), vocab)


def test_python_sources_equal_hf() -> None:
    assert_same_as_hf(list(stdlib_sources(40)), 3000)


@pytest.mark.parametrize("min_frequency", [2, 40])
def test_min_frequency_equals_hf(min_frequency: int) -> None:
    assert_same_as_hf(list(pydoc_texts()[:200]), 4000, min_frequency)


@pytest.mark.parametrize(
    ("relpaths", "vocab", "max_bytes"),
    [
        (["english/en_tinyshakespeare.txt"], 2000, 1_500_000),
        (
            ["english/en_us_presidential_speeches.jsonl", "code/code_python_stdlib.jsonl"],
            8000,
            1_500_000,
        ),
        (["chinese/zh_tang_poems.jsonl"], 3000, 300_000),
        (["multilingual/udhr_multilingual.jsonl"], 2000, 500_000),
    ],
)
def test_corpora_equal_hf(
    shared_corpora: Path, relpaths: list[str], vocab: int, max_bytes: int
) -> None:
    texts = [t for rel in relpaths for t in corpus_docs(shared_corpora, rel, max_bytes)]
    assert_same_as_hf(texts, vocab)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    words=st.lists(st.text(st.sampled_from("aab c"), min_size=1, max_size=9), min_size=1),
    vocab=st.integers(256, 300),
    min_frequency=st.sampled_from([0, 0, 2, 3]),
)
def test_tie_heavy_small_corpora_equal_hf(words: list[str], vocab: int, min_frequency: int) -> None:
    """Small alphabets: many pairs share counts, so the tie-break and the lazy refresh decide."""
    assert_same_as_hf([" ".join(words), "".join(words)], vocab, min_frequency)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TRICKY, min_size=1, max_size=6))
def test_tricky_unicode_equals_hf(texts: list[str]) -> None:
    # HF's Oniguruma and tiktoken's engine could differ on new code points: stay with Unicode
    # both know (TRICKY draws from long-assigned blocks).
    assert_same_as_hf(texts, 400)


def test_training_stops_at_target_and_handles_tiny_input() -> None:
    counter = _native.WordCounter(0, [])
    assert (
        _native.train_bpe(counter, byte_order=HF_BYTE_ORDER, target_tokens=1000, min_frequency=0)
        == []
    )
    counter.add_texts(["aaaa aaaa"], 1)
    assert (
        _native.train_bpe(counter, byte_order=HF_BYTE_ORDER, target_tokens=100, min_frequency=0)
        == []
    )
    merges = _native.train_bpe(
        counter, byte_order=bytes(range(256)), target_tokens=258, min_frequency=0
    )
    assert merges == [(97, 97, 256), (256, 256, 257)]


def test_progress_is_reported_and_can_stop() -> None:
    counter = _native.WordCounter(0, [])
    counter.add_texts(list(pydoc_texts()), 2)
    seen: list[int] = []
    merges = _native.train_bpe(
        counter, byte_order=HF_BYTE_ORDER, target_tokens=2000, min_frequency=0, progress=seen.append
    )
    assert seen == sorted(seen) and seen[-1] == len(merges) and len(seen) >= 5

    def stop(n: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _native.train_bpe(
            counter, byte_order=HF_BYTE_ORDER, target_tokens=2000, min_frequency=0, progress=stop
        )
    # the counter is usable again afterwards
    again = _native.train_bpe(
        counter, byte_order=HF_BYTE_ORDER, target_tokens=2000, min_frequency=0
    )
    assert again == merges


def test_train_argument_errors() -> None:
    counter = _native.WordCounter(0, [])
    with pytest.raises(ValueError, match="256 bytes"):
        _native.train_bpe(counter, byte_order=b"\0" * 10, target_tokens=300, min_frequency=0)
    with pytest.raises(ValueError, match="twice"):
        _native.train_bpe(counter, byte_order=b"\0" * 256, target_tokens=300, min_frequency=0)
    with pytest.raises(TypeError, match="keyword"):
        _native.train_bpe(counter)  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        _native.train_bpe(counter, byte_order=HF_BYTE_ORDER, target_tokens=-1, min_frequency=0)
    with pytest.raises(ValueError):
        _native.train_bpe(counter, byte_order=HF_BYTE_ORDER, target_tokens=300, min_frequency=-1)
    with pytest.raises(TypeError):
        _native.train_bpe("counter", byte_order=HF_BYTE_ORDER, target_tokens=300, min_frequency=0)  # type: ignore[arg-type]


# ---------------------------------------------------------------- word counting


@pytest.mark.parametrize("pattern", list(PATTERNS))
def test_word_counts_equal_regex(pattern: str) -> None:
    regex_pattern, native = PATTERNS[pattern]
    texts = [*pydoc_texts()[:120], "", "  \n", "it's 'S 中文 x"]
    expected = Counter(w.encode() for t in texts for w in regex.findall(regex_pattern, t))
    for threads in (1, 2, 4):
        counter = _native.WordCounter(native, [])
        counter.add_texts(texts, threads)
        assert dict(counter.items()) == expected
        assert len(counter) == len(expected)
        assert counter.total == sum(expected.values())


def test_special_strings_are_cut_out() -> None:
    pattern, native = PATTERNS["gpt4"]
    specials = ["<|endoftext|>", "<|pad|>"]
    texts = ["a<|endoftext|>b <|pad|><|pad|>c", "<|endoftext|>", "x<|endof", "  <|pad|>  y"]
    expected: Counter[bytes] = Counter()
    for text in texts:
        for part in regex.split(r"<\|endoftext\|>|<\|pad\|>", text):
            expected.update(w.encode() for w in regex.findall(pattern, part))
    counter = _native.WordCounter(native, specials)
    counter.add_texts(texts, 2)
    assert dict(counter.items()) == expected


def test_long_texts_are_counted_in_parallel_exactly() -> None:
    """Texts over 2 MB are cut at safe points for the threads; the counts do not change."""
    text = "\n".join(pydoc_texts())
    while len(text) < 3_000_000:
        text += "\n  \n" + text[: len(text) // 3]
    for pattern, (regex_pattern, native) in PATTERNS.items():
        one = _native.WordCounter(native, [])
        one.add_texts([text], 1)
        two = _native.WordCounter(native, [])
        two.add_texts([text, text[:1000]], 2)
        two_items = Counter(dict(two.items()))
        two_items.subtract(w.encode() for w in regex.findall(regex_pattern, text[:1000]))
        assert dict(one.items()) == {k: v for k, v in two_items.items() if v}, pattern


def test_pieces_and_custom_patterns() -> None:
    pattern, native = PATTERNS["gpt2"]
    texts = list(pydoc_texts()[:50])
    by_text = _native.WordCounter(native, [])
    by_text.add_texts(texts, 2)
    by_piece = _native.WordCounter(-1, [])
    by_piece.add_pieces([w.encode() for t in texts for w in regex.findall(pattern, t)])
    by_piece.add_pieces([b"", b""])  # empty pieces are not words
    assert sorted(by_piece.items()) == sorted(by_text.items())
    assert by_piece.total == by_text.total
    with pytest.raises(ValueError, match="custom pattern"):
        by_piece.add_texts(["x"], 1)
    with pytest.raises(TypeError):
        by_piece.add_pieces(["str"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="pattern"):
        _native.WordCounter(7, [])
    with pytest.raises(ValueError, match="empty"):
        _native.WordCounter(0, [""])
    with pytest.raises(UnicodeEncodeError):
        by_text.add_texts(["\ud800"], 1)
    with pytest.raises(RuntimeError, match="already"):
        by_text.__init__(0, [])  # type: ignore[misc]
