"""Mixtures: exact weights, deterministic, resumable."""

from __future__ import annotations

import numpy as np
import pytest

from lmio.errors import InvalidArgumentError
from lmio.loader import Mixture, TokenLoader

from .conftest import MakeDataset

SEQ_LEN = 8


def sources(loader: TokenLoader) -> list[int]:
    return [s for batch in loader for s in batch["source"].tolist()]


@pytest.fixture
def three(make_dataset: MakeDataset) -> list[object]:
    # Different sizes; token values in different ranges, to tell the sources apart.
    return [
        make_dataset([40] * 20, start=0),
        make_dataset([25] * 8, start=1_000_000),
        make_dataset([60] * 30, start=2_000_000),
    ]


def test_weights_hold_on_every_batch(three: list[object]) -> None:
    weights = [0.5, 0.3, 0.2]
    loader = TokenLoader(
        Mixture(three, weights=weights, samples_per_epoch=1_000),
        batch_size=10,
        seq_len=SEQ_LEN,
        sample_ids=True,
    )
    seen = np.array(sources(loader))
    assert len(seen) == 1_000
    for s, weight in enumerate(weights):
        prefix = np.cumsum(seen == s)
        ideal = weight * np.arange(1, len(seen) + 1)
        assert np.abs(prefix - ideal).max() <= 1.0
    # The tokens come from the source the batch says.
    batch = next(iter(loader))
    assert ((batch["input_ids"][:, 0] // 1_000_000) == batch["source"]).all()


def test_a_small_source_repeats_every_sample_before_any_twice(three: list[object]) -> None:
    loader = TokenLoader(
        Mixture(three, weights=[1, 1, 1], samples_per_epoch=300),
        batch_size=10,
        seq_len=SEQ_LEN,
        sample_ids=True,
    )
    small = [
        i
        for b in loader
        for i, s in zip(b["sample_id"].tolist(), b["source"].tolist(), strict=True)
        if s == 1
    ]
    per_epoch = (25 - 1) // SEQ_LEN * 8  # windows in the small source
    assert len(small) == 100
    for lo in range(0, 100 - per_epoch + 1, per_epoch):
        assert sorted(small[lo : lo + per_epoch]) == list(range(per_epoch))


def test_mixture_is_deterministic_and_resumes(three: list[object]) -> None:
    def make() -> TokenLoader:
        mix = Mixture(three, weights=[2, 1, 1], samples_per_epoch=200)
        return TokenLoader(mix, batch_size=4, seq_len=SEQ_LEN, sample_ids=True, seed=4)

    def pairs(loader: TokenLoader, epochs: int = 2) -> list[tuple[int, int]]:
        return [
            (s, i)
            for _ in range(epochs)
            for b in loader
            for s, i in zip(b["source"].tolist(), b["sample_id"].tolist(), strict=True)
        ]

    expected = pairs(make())
    assert pairs(make()) == expected
    first = make()
    iterator = iter(first)
    head = [
        (s, i)
        for _ in range(30)
        for b in [next(iterator)]
        for s, i in zip(b["source"].tolist(), b["sample_id"].tolist(), strict=True)
    ]
    iterator.close()
    resumed = make()
    resumed.load_state_dict(first.state_dict())
    assert head + pairs(resumed, epochs=1) + pairs(resumed, epochs=1) == expected
    other = TokenLoader(
        Mixture(three, weights=[1, 1, 2], samples_per_epoch=200),
        batch_size=4,
        seq_len=SEQ_LEN,
        seed=4,
    )
    with pytest.raises(InvalidArgumentError, match="quota"):
        other.load_state_dict(first.state_dict())


def test_bad_mixtures_are_refused(three: list[object]) -> None:
    with pytest.raises(InvalidArgumentError, match="one weight per dataset"):
        Mixture(three, weights=[1, 2])
    with pytest.raises(InvalidArgumentError, match="positive"):
        Mixture(three, weights=[1, 0, 1])
    with pytest.raises(InvalidArgumentError, match="at least one"):
        Mixture([], weights=[])
