"""GPTConfig validation and the presets' documented sizes."""

from __future__ import annotations

import pytest
import torch

from lmio.errors import InvalidArgumentError
from lmio.model import DEFAULT_VOCAB_SIZE, GPT, GPTConfig


def test_defaults_are_valid() -> None:
    config = GPTConfig()
    assert config.vocab_size == DEFAULT_VOCAB_SIZE
    assert config.head_dim * config.n_head == config.d_model


def test_d_model_not_divisible_by_n_head_says_what_to_choose() -> None:
    with pytest.raises(
        InvalidArgumentError, match=r"d_model 100 is not divisible by n_head 3: .* such as 1, 2, 4"
    ):
        GPTConfig(d_model=100, n_head=3)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("vocab_size", 0, "vocab_size must be a positive integer, got 0"),
        ("n_layer", 2.5, "n_layer must be a positive integer, got 2.5"),
        ("block_size", True, "block_size must be a positive integer, got True"),
        ("dropout", 1.0, r"dropout must be in \[0, 1\), got 1.0"),
        ("bias", "yes", "bias must be True or False"),
        ("attention", "flash", "unknown attention 'flash': choose 'sdpa'"),
    ],
)
def test_bad_fields_are_refused(field: str, value: object, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        GPTConfig(**{field: value})  # type: ignore[arg-type]


def test_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(
        InvalidArgumentError, match=r"unknown preset 'huge': choose one of tiny, small, base"
    ):
        GPTConfig.from_preset("huge")


def test_unknown_override_lists_the_options() -> None:
    with pytest.raises(InvalidArgumentError, match=r"unknown GPTConfig option.*'n_embd'.*d_model"):
        GPT.from_preset("tiny", n_embd=64)


def test_dict_round_trip() -> None:
    config = GPTConfig.from_preset("small", vocab_size=1000, attention="reference")
    assert GPTConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    ("preset", "low", "high", "non_embedding"),
    [
        ("tiny", 4.0e6, 5.0e6, (0.35e6, 0.45e6)),
        ("small", 10e6, 13e6, (3.0e6, 3.3e6)),
        ("base", 100e6, 125e6, (84e6, 86e6)),
    ],
)
def test_preset_parameter_counts_match_the_docstring(
    preset: str, low: float, high: float, non_embedding: tuple[float, float]
) -> None:
    with torch.device("meta"):  # shapes only: no memory, no initialisation cost
        model = GPT.from_preset(preset)
    assert low <= model.num_parameters() <= high
    assert non_embedding[0] <= model.num_parameters(embeddings=False) <= non_embedding[1]


def test_tied_head_is_counted_once() -> None:
    model = GPT.from_preset("tiny", vocab_size=256)
    assert model.head.weight is model.tok_emb.weight
    unique = {id(p): p.numel() for p in model.parameters()}
    assert model.num_parameters() == sum(unique.values())
