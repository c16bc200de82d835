"""Fixed-length batches (seed §3.3.1 step 3): pad or truncate, with an attention mask."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from lmio.errors import InvalidArgumentError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["pad_batch"]

Side = Literal["left", "right"]


def pad_batch(
    batch: Sequence[Sequence[int]],
    *,
    length: int,
    pad_id: int = 0,
    side: Side = "right",
    truncation: Side = "right",
) -> dict[str, npt.NDArray[np.int64]]:
    """`input_ids` and `attention_mask`, both int64 of shape [len(batch), length].

    Sequences longer than `length` lose tokens at the `truncation` end; shorter ones get
    `pad_id` on the `side` end, where the mask is 0.
    """
    import numpy as np

    if length < 1:
        raise InvalidArgumentError(f"length must be at least 1, got {length}")
    for name, value in (("side", side), ("truncation", truncation)):
        if value not in ("left", "right"):
            raise InvalidArgumentError(f"{name} must be 'left' or 'right', got {value!r}")
    input_ids = np.full((len(batch), length), pad_id, dtype=np.int64)
    attention_mask = np.zeros((len(batch), length), dtype=np.int64)
    for row, ids in enumerate(batch):
        kept = list(ids[:length] if truncation == "right" else ids[max(0, len(ids) - length) :])
        n = len(kept)
        if side == "right":
            input_ids[row, :n] = kept
            attention_mask[row, :n] = 1
        else:
            input_ids[row, length - n :] = kept
            attention_mask[row, length - n :] = 1
    return {"input_ids": input_ids, "attention_mask": attention_mask}
