"""lmio: the I/O layer of large-language-model training and serving.

This module is the public API: `Tokenizer` (train, encode, HF and tiktoken formats),
`lmio.prepare.prepare` with `Documents` (corpus to Parquet shards), `open_dataset`,
`TokenLoader` and `Mixture` (batches for PyTorch), `GPT`, `GPTConfig`, `train` and
`evaluate` (the reference model). Every name is imported on first use, so `import lmio`
stays light (no torch, no pyarrow).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lmio._lazy import lazy_names
from lmio._version import __version__
from lmio.errors import LmioError

if TYPE_CHECKING:
    from lmio.loader import Mixture, TokenLoader
    from lmio.model import GPT, GPTConfig, evaluate, train
    from lmio.prepare import Documents
    from lmio.store import open_dataset
    from lmio.tokenizer import Tokenizer

# Public name -> module that defines it, imported on first access.
_LAZY = {
    "Documents": "lmio.prepare",
    "GPT": "lmio.model",
    "GPTConfig": "lmio.model",
    "Mixture": "lmio.loader",
    "TokenLoader": "lmio.loader",
    "Tokenizer": "lmio.tokenizer",
    "evaluate": "lmio.model",
    "open_dataset": "lmio.store",
    "train": "lmio.model",
}

__all__ = [
    "GPT",
    "Documents",
    "GPTConfig",
    "LmioError",
    "Mixture",
    "TokenLoader",
    "Tokenizer",
    "__version__",
    "evaluate",
    "open_dataset",
    "train",
]


__getattr__, __dir__ = lazy_names(__name__, _LAZY)
