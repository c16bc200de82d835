"""GPTConfig: the shape of the reference model, validated, and its named presets."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from lmio.errors import InvalidArgumentError

__all__ = ["DEFAULT_VOCAB_SIZE", "PRESETS", "AttentionKind", "GPTConfig"]

AttentionKind = Literal["sdpa", "reference"]

# 2**15: a common size for a trained BPE vocabulary. Pass the tokenizer's own size in practice.
DEFAULT_VOCAB_SIZE = 32_768

# Parameter counts below are totals with DEFAULT_VOCAB_SIZE: every trainable parameter, the
# token embedding (tied to the output head) counted once, position embeddings included.
# "non-embedding" leaves out both embeddings, which is the count that does not depend on the
# vocabulary. `tests/model/test_presets.py` keeps these figures honest.
PRESETS: Mapping[str, Mapping[str, int]] = {
    # ~4.6M total, 0.40M non-embedding (0.45M total with a 256-token byte vocabulary).
    "tiny": {"n_layer": 2, "n_head": 4, "d_model": 128, "block_size": 128},
    # ~11.6M total, 3.2M non-embedding.
    "small": {"n_layer": 4, "n_head": 4, "d_model": 256, "block_size": 256},
    # ~111M total, 85M non-embedding (the GPT-2 small architecture).
    "base": {"n_layer": 12, "n_head": 12, "d_model": 768, "block_size": 1024},
}


@dataclass(frozen=True)
class GPTConfig:
    """The shape of a `GPT`. Every field is checked when the config is made.

    Presets (`GPTConfig.from_preset(name, **overrides)`), counted as every trainable parameter
    with the default vocabulary of 32,768 tokens, the tied token embedding counted once:

    | preset | layers | heads | d_model | block_size | parameters | non-embedding |
    |--------|--------|-------|---------|------------|------------|---------------|
    | tiny   | 2      | 4     | 128     | 128        | ~4.6M      | 0.40M         |
    | small  | 4      | 4     | 256     | 256        | ~11.6M     | 3.2M          |
    | base   | 12     | 12    | 768     | 1024       | ~111M      | 85M           |

    `attention="sdpa"` uses `torch.nn.functional.scaled_dot_product_attention`;
    `"reference"` writes out softmax(QKᵀ/√d_k)·V with an explicit mask (slower, for checking).
    """

    vocab_size: int = DEFAULT_VOCAB_SIZE
    block_size: int = 128
    n_layer: int = 2
    n_head: int = 4
    d_model: int = 128
    dropout: float = 0.0
    bias: bool = True
    attention: AttentionKind = "sdpa"

    def __post_init__(self) -> None:
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "d_model"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidArgumentError(f"{name} must be a positive integer, got {value!r}")
        if self.d_model % self.n_head:
            divisors = [n for n in range(1, self.d_model + 1) if self.d_model % n == 0]
            nearest = sorted(sorted(divisors, key=lambda n: abs(n - self.n_head))[:3])
            raise InvalidArgumentError(
                f"d_model {self.d_model} is not divisible by n_head {self.n_head}: "
                f"choose an n_head that divides d_model, such as "
                f"{', '.join(map(str, nearest))}, or change d_model"
            )
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)):
            raise InvalidArgumentError(f"dropout must be a number, got {self.dropout!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise InvalidArgumentError(
                f"dropout must be in [0, 1), got {self.dropout}: 0.0 turns it off"
            )
        if not isinstance(self.bias, bool):
            raise InvalidArgumentError(f"bias must be True or False, got {self.bias!r}")
        if self.attention not in get_args(AttentionKind):
            raise InvalidArgumentError(
                f"unknown attention {self.attention!r}: choose 'sdpa' (fast) or 'reference'"
            )

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_head

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> GPTConfig:
        """The preset's shape, with any field replaced, e.g. `from_preset("tiny", vocab_size=256)`."""
        preset = PRESETS.get(name)
        if preset is None:
            raise InvalidArgumentError(
                f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}"
            )
        return cls.from_dict({**preset, **overrides})

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> GPTConfig:
        """A config from `to_dict()`'s output; unknown keys are refused, missing ones default."""
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidArgumentError(
                f"unknown GPTConfig option(s) {', '.join(map(repr, unknown))}: "
                f"the options are {', '.join(sorted(known))}"
            )
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
