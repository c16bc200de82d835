"""The training and evaluation loops."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
import torch

from lmio.errors import DataError, InvalidArgumentError
from lmio.model import GPT, evaluate, learning_rate, lm_loss, train
from lmio.model._train import _parameter_groups
from lmio.model._windows import random_windows, sequential_windows


def test_learning_rate_warms_up_linearly_then_decays_to_min_lr() -> None:
    def at(step: int) -> float:
        return learning_rate(step, lr=1.0, min_lr=0.1, warmup_steps=10, total_steps=110)

    assert [at(s) for s in (0, 4, 9)] == pytest.approx([0.1, 0.5, 1.0])
    assert at(60) == pytest.approx(0.55)  # halfway through the cosine
    assert at(110) == pytest.approx(0.1)
    assert at(500) == pytest.approx(0.1)
    decay = [at(s) for s in range(10, 111)]
    assert decay == sorted(decay, reverse=True)


def test_weight_decay_skips_biases_norms_and_the_tied_embedding(tiny: GPT) -> None:
    decay, no_decay = _parameter_groups(tiny, 0.1)
    decayed = {id(p) for p in decay["params"]}  # type: ignore[attr-defined]
    skipped = {id(p) for p in no_decay["params"]}  # type: ignore[attr-defined]
    assert not decayed & skipped
    assert len(decayed) + len(skipped) == len(list(tiny.parameters()))
    assert id(tiny.tok_emb.weight) in skipped and id(tiny.head.weight) in skipped
    assert id(tiny.blocks[0].attn.qkv.weight) in decayed
    assert id(tiny.blocks[0].attn.qkv.bias) in skipped
    assert id(tiny.norm.weight) in skipped


def _batches(seed: int, n: int = 8) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randint(0, 256, (4, 17), generator=generator) for _ in range(n)]


def test_training_is_deterministic(tiny: GPT) -> None:
    state = {k: v.clone() for k, v in tiny.state_dict().items()}
    first = train(tiny, _batches(0), steps=8, log_every=4)
    tiny.load_state_dict(state)
    second = train(tiny, _batches(0), steps=8, log_every=4)
    assert first.losses == second.losses
    assert first.steps == 8 and first.tokens == 8 * 4 * 16
    assert first.tokens_per_second > 0


def test_dict_batches_match_tensor_batches_and_respect_ignored_labels(tiny: GPT) -> None:
    tokens = _batches(1, 1)[0]
    with torch.no_grad():
        plain = lm_loss(tiny(tokens[:, :-1]), tokens[:, 1:])
        as_dict = evaluate(tiny, [{"input_ids": tokens[:, :-1], "labels": tokens[:, 1:]}])
        labels = tokens[:, 1:].clone()
        labels[:, 8:] = -100
        half = evaluate(tiny, [{"input_ids": tokens[:, :-1], "labels": labels}])
        first_half = lm_loss(tiny(tokens[:, :-1])[:, :8], tokens[:, 1:9])
    assert as_dict.loss == pytest.approx(plain.item(), rel=1e-6)
    assert half.tokens == 4 * 8
    assert half.loss == pytest.approx(first_half.item(), rel=1e-6)


def test_evaluate_weights_every_token_equally(tiny: GPT) -> None:
    big, small = _batches(2, 1)[0], _batches(3, 1)[0][:1]
    each = [evaluate(tiny, [b]) for b in (big, small)]
    both = evaluate(tiny, [big, small])
    expected = sum(r.loss * r.tokens for r in each) / sum(r.tokens for r in each)
    assert both.loss == pytest.approx(expected, rel=1e-6)
    assert both.batches == 2
    assert both.perplexity == pytest.approx(math.exp(both.loss))


def test_evaluate_stops_at_max_batches_and_keeps_the_mode(tiny: GPT) -> None:
    tiny.train()
    result = evaluate(tiny, iter(_batches(4, 100)), max_batches=3)
    assert result.batches == 3
    assert tiny.training


def test_running_out_of_batches_stops_early_with_a_warning(
    tiny: GPT, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="lmio"):
        result = train(tiny, _batches(5, 3), steps=10)
    assert result.steps == 3
    assert "batches ran out after 3 of 10 steps" in caplog.text


def test_divergence_is_an_error(tiny: GPT) -> None:
    with torch.no_grad():
        tiny.tok_emb.weight.fill_(float("nan"))
    with pytest.raises(DataError, match="training diverged at step 2: loss is nan"):
        train(tiny, _batches(6), steps=2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": 0}, "steps must be > 0"),
        ({"lr": -1.0}, "lr must be > 0"),
        ({"min_lr": 1.0}, "min_lr must be between 0 and lr"),
        ({"grad_clip": 0.0}, "grad_clip"),
    ],
)
def test_bad_training_options_are_refused(
    tiny: GPT, kwargs: dict[str, float], message: str
) -> None:
    options = {"steps": 1, **kwargs}
    with pytest.raises(InvalidArgumentError, match=message):
        train(tiny, _batches(7), **options)  # type: ignore[arg-type]


def test_bad_batches_are_refused(tiny: GPT) -> None:
    with pytest.raises(InvalidArgumentError, match="needs 'input_ids' and 'labels'"):
        train(tiny, [{"input_ids": torch.zeros(1, 4, dtype=torch.long)}], steps=1)
    with pytest.raises(InvalidArgumentError, match=r"integer token ids \[batch, time \+ 1\]"):
        train(tiny, [torch.zeros(2, 5)], steps=1)
    with pytest.raises(InvalidArgumentError, match="got list"):
        train(tiny, [[1, 2, 3]], steps=1)  # type: ignore[list-item]
    with pytest.raises(DataError, match="nothing to evaluate"):
        evaluate(tiny, [])


@pytest.mark.slow
def test_training_on_real_text_lowers_held_out_loss(byte_tokens: np.ndarray) -> None:
    torch.manual_seed(0)
    model = GPT.from_preset("tiny", vocab_size=256, block_size=64)
    split = len(byte_tokens) * 19 // 20
    train_tokens, held_out = byte_tokens[:split], byte_tokens[split:]

    def held_out_loss() -> float:
        windows = sequential_windows(held_out, batch_size=32, seq_len=64)
        return evaluate(model, windows, max_batches=8).loss

    initial = held_out_loss()
    assert initial == pytest.approx(math.log(256), abs=0.5)
    batches = random_windows(train_tokens, batch_size=16, seq_len=64, seed=0)
    result = train(model, batches, steps=150, lr=2e-3)
    final = held_out_loss()
    assert result.final_loss < 0.7 * result.losses[0]
    assert final < 0.7 * initial, (initial, final)
