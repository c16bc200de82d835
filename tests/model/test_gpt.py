"""The model: shapes, causality, attention paths, packing hooks and generation."""

from __future__ import annotations

import pytest
import torch

from lmio.errors import InvalidArgumentError
from lmio.model import GPT, GPTConfig


def test_logits_shape(tiny: GPT) -> None:
    idx = torch.randint(0, 256, (3, 17))
    assert tiny(idx).shape == (3, 17, 256)


def test_changing_a_future_token_leaves_earlier_logits_exactly_unchanged(tiny: GPT) -> None:
    idx = torch.randint(0, 256, (2, 32))
    changed = idx.clone()
    changed[:, 20:] = (changed[:, 20:] + 1) % 256
    with torch.no_grad():
        before, after = tiny(idx), tiny(changed)
    assert torch.equal(before[:, :20], after[:, :20])
    assert not torch.equal(before[:, 20:], after[:, 20:])


def _reference_twin(model: GPT) -> GPT:
    twin = GPT(GPTConfig(**{**model.config.to_dict(), "attention": "reference"}))
    twin.load_state_dict(model.state_dict())
    return twin.eval()


def test_sdpa_equals_the_written_out_reference(tiny: GPT) -> None:
    idx = torch.randint(0, 256, (4, 32))
    with torch.no_grad():
        torch.testing.assert_close(tiny(idx), _reference_twin(tiny)(idx), atol=1e-5, rtol=0)


def test_document_mask_and_positions_make_a_packed_row_equal_separate_documents(
    tiny: GPT,
) -> None:
    first, second = torch.randint(0, 256, (1, 12)), torch.randint(0, 256, (1, 20))
    packed = torch.cat([first, second], dim=1)
    doc = torch.tensor([0] * 12 + [1] * 20)
    same_doc = (doc[:, None] == doc[None, :]).unsqueeze(0)  # [1, T, T]
    positions = torch.cat([torch.arange(12), torch.arange(20)]).unsqueeze(0)
    with torch.no_grad():
        separate = torch.cat([tiny(first), tiny(second)], dim=1)
        for model in (tiny, _reference_twin(tiny)):
            out = model(packed, position_ids=positions, attn_mask=same_doc)
            torch.testing.assert_close(out, separate, atol=1e-5, rtol=0)


def test_sequence_longer_than_block_size_is_refused(tiny: GPT) -> None:
    with pytest.raises(
        InvalidArgumentError, match="33 tokens is longer than the model's block_size 32"
    ):
        tiny(torch.zeros(1, 33, dtype=torch.long))


def test_float_input_is_refused(tiny: GPT) -> None:
    with pytest.raises(InvalidArgumentError, match="integer tensor"):
        tiny(torch.zeros(1, 4))


@pytest.mark.parametrize("new_tokens", [10, 50])  # 50 runs past block_size (32)
def test_greedy_generation_with_cache_equals_without(tiny: GPT, new_tokens: int) -> None:
    # float64 so that near-ties between logits cannot flip an argmax between the two paths.
    model = tiny.double()
    prompt = torch.randint(0, 256, (3, 5))
    cached = model.generate(prompt, new_tokens, temperature=0, use_cache=True)
    uncached = model.generate(prompt, new_tokens, temperature=0, use_cache=False)
    assert cached.shape == (3, 5 + new_tokens)
    assert torch.equal(cached[:, :5], prompt)
    assert torch.equal(cached, uncached)


def test_cached_decoding_gives_the_same_logits_as_a_full_pass(tiny: GPT) -> None:
    idx = torch.randint(0, 256, (2, 16))
    cache = tiny.new_kv_cache(2)
    with torch.no_grad():
        steps = [tiny(idx[:, :8], kv_cache=cache)]
        steps += [tiny(idx[:, t : t + 1], kv_cache=cache) for t in range(8, 16)]
        torch.testing.assert_close(torch.cat(steps, dim=1), tiny(idx), atol=1e-5, rtol=0)


def test_seeded_sampling_is_reproducible(tiny: GPT) -> None:
    prompt = torch.randint(0, 256, (2, 4))

    def sample(seed: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        return tiny.generate(prompt, 20, temperature=0.8, top_k=20, generator=generator)

    assert torch.equal(sample(1), sample(1))
    assert not torch.equal(sample(1), sample(2))


def test_top_k_one_is_greedy(tiny: GPT) -> None:
    prompt = torch.randint(0, 256, (2, 4))
    generator = torch.Generator().manual_seed(0)
    sampled = tiny.generate(prompt, 10, temperature=1.5, top_k=1, generator=generator)
    assert torch.equal(sampled, tiny.generate(prompt, 10, temperature=0))


def test_generate_restores_training_mode(tiny: GPT) -> None:
    tiny.train()
    tiny.generate(torch.zeros(1, 1, dtype=torch.long), 2)
    assert tiny.training


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"temperature": -1.0}, "temperature must be >= 0"),
        ({"top_k": 0}, "top_k must be >= 1"),
        ({"max_new_tokens": -1}, "max_new_tokens must be >= 0"),
    ],
)
def test_bad_generation_options_are_refused(
    tiny: GPT, kwargs: dict[str, float], message: str
) -> None:
    options = {"max_new_tokens": 3, **kwargs}
    with pytest.raises(InvalidArgumentError, match=message):
        tiny.generate(torch.zeros(1, 1, dtype=torch.long), **options)  # type: ignore[arg-type]


def test_gpt_needs_a_config() -> None:
    with pytest.raises(InvalidArgumentError, match=r"GPT\(GPTConfig\(...\)\)"):
        GPT({"n_layer": 2})  # type: ignore[arg-type]
