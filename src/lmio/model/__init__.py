"""The reference GPT, its training and evaluation loops, and its file format.

Importing this package imports torch; `import lmio` does not, until `lmio.GPT` is used.
"""

from lmio.model._attention import KVCache
from lmio.model._batch import IGNORE_INDEX, lm_loss
from lmio.model._config import DEFAULT_VOCAB_SIZE, PRESETS, GPTConfig
from lmio.model._evaluate import EvalResult, evaluate
from lmio.model._gpt import GPT
from lmio.model._io import load_model, save_model
from lmio.model._train import TrainResult, learning_rate, train

__all__ = [
    "DEFAULT_VOCAB_SIZE",
    "GPT",
    "IGNORE_INDEX",
    "PRESETS",
    "EvalResult",
    "GPTConfig",
    "KVCache",
    "TrainResult",
    "evaluate",
    "learning_rate",
    "lm_loss",
    "load_model",
    "save_model",
    "train",
]
