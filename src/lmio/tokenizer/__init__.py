"""Byte-level BPE tokenizer: training, encoding, and the HF and tiktoken formats.

Its names are imported on first use: the C core's binding, `lmio.tokenizer._native`, is
imported by storage and loading as well, which need none of them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lmio._lazy import lazy_names

if TYPE_CHECKING:
    from lmio.tokenizer._padding import pad_batch
    from lmio.tokenizer._patterns import NAMED_PATTERNS
    from lmio.tokenizer._tokenizer import Tokenizer
    from lmio.tokenizer._training import TrainingReport

__all__ = ["NAMED_PATTERNS", "Tokenizer", "TrainingReport", "pad_batch"]

_LAZY = {
    "NAMED_PATTERNS": "lmio.tokenizer._patterns",
    "Tokenizer": "lmio.tokenizer._tokenizer",
    "TrainingReport": "lmio.tokenizer._training",
    "pad_batch": "lmio.tokenizer._padding",
}

__getattr__, __dir__ = lazy_names(__name__, _LAZY)
