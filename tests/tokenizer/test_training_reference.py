"""The pure-Python reference: the seed's worked example, and HF BpeTrainer's exact merges."""

from __future__ import annotations

import itertools
import json

import pytest
from tokenizers import Tokenizer as HFTokenizer
from tokenizers import models, pre_tokenizers, trainers

from lmio.tokenizer import _reference
from lmio.tokenizer._byte_level import BYTE_ORDER, encode_byte_level
from lmio.tokenizer._patterns import GPT2


def test_seed_example_merges_er_first_and_stops_at_vocab_size() -> None:
    # Seed §4.2: "low lower lowest newer wider", with an initial vocabulary of characters.
    words = ["low", "lower", "lowest", "newer", "wider"]
    counts = {word.encode(): 1 for word in words}
    # Round one: 'er' (in lower, newer, wider) and 'lo'/'ow' (in low, lower, lowest) tie at 3.
    pair_counts: dict[bytes, int] = {}
    for word in counts:
        for a, b in itertools.pairwise(word):
            pair_counts[bytes([a, b])] = pair_counts.get(bytes([a, b]), 0) + 1
    best = max(pair_counts.values())
    assert pair_counts[b"er"] == best == 3
    merges = _reference.train(counts, byte_order=BYTE_ORDER, target_tokens=256 + 5)
    tokens = [bytes([b]) for b in BYTE_ORDER]
    for left, right, _ in merges:
        tokens.append(tokens[left] + tokens[right])
    learned = tokens[256:]
    assert learned[0] == b"er"  # of the tied pairs, HF's order takes the smallest id pair
    assert len(tokens) == 256 + 5  # the loop stops at the requested size


def _hf_train(texts: list[str], vocab_size: int) -> dict:
    hf = HFTokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=0,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    hf.train_from_iterator(texts, trainer)
    return json.loads(hf.to_str())["model"]


def hf_view(merges: list[tuple[int, int, int]]) -> tuple[dict[str, int], list[list[str]]]:
    """Our raw merge sequence as HF saves it: vocab by id, each pair once at its last rank."""
    tokens = [bytes([b]) for b in BYTE_ORDER]
    for left, right, new_id in merges:
        if new_id == len(tokens):
            tokens.append(tokens[left] + tokens[right])
    last = {(left, right): rank for rank, (left, right, _) in enumerate(merges)}
    spelled = [encode_byte_level(t) for t in tokens]
    vocab = {s: i for i, s in enumerate(spelled)}
    ordered = sorted(last, key=last.__getitem__)
    return vocab, [[spelled[a], spelled[b]] for a, b in ordered]


@pytest.mark.parametrize("vocab_size", [300, 1000, 4000])
def test_reference_training_equals_hf_bpe_trainer(pydoc: list[str], vocab_size: int) -> None:
    expected = _hf_train(pydoc, vocab_size)
    counts = _reference.count_words(pydoc, GPT2)
    merges = _reference.train(counts, byte_order=BYTE_ORDER, target_tokens=vocab_size)
    vocab, hf_merges = hf_view(merges)
    assert vocab == expected["vocab"]
    assert hf_merges == expected["merges"]


def test_min_frequency_stops_training(pydoc: list[str]) -> None:
    counts = _reference.count_words(pydoc, GPT2)
    merges = _reference.train(
        counts, byte_order=BYTE_ORDER, target_tokens=100_000, min_frequency=50
    )
    assert 0 < len(merges) < 5000
