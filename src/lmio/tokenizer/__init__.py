"""Byte-level BPE tokenizer: training, encoding, and the HF and tiktoken formats."""

from lmio.tokenizer._padding import pad_batch
from lmio.tokenizer._patterns import NAMED_PATTERNS
from lmio.tokenizer._tokenizer import Tokenizer
from lmio.tokenizer._training import TrainingReport

__all__ = ["NAMED_PATTERNS", "Tokenizer", "TrainingReport", "pad_batch"]
