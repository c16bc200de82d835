"""Fixtures for the model tests: tiny models and real text at byte level."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lmio.model import GPT
from lmio.text import embedded_corpus


@pytest.fixture
def tiny() -> GPT:
    """A seeded tiny GPT over bytes, small enough that every test can build its own."""
    torch.manual_seed(0)
    return GPT.from_preset("tiny", vocab_size=256, block_size=32)


@pytest.fixture(scope="session")
def byte_tokens() -> np.ndarray:
    """Python's documentation topics as bytes, documents separated by NUL (never in text)."""
    text = "\0".join(embedded_corpus(include_code=False))
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
