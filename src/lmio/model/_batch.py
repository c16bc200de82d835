"""What a batch may be, and the loss over its labels.

Two shapes are accepted, so that a plain token tensor and lmio's loader both feed the loops:
a LongTensor [B, T+1] of consecutive tokens (inputs are the first T, labels the last T), or a
mapping with `input_ids` [B, T] and `labels` [B, T] (-100 marks a position without a loss),
optionally with `position_ids` and `attn_mask` for packed documents (see `GPT.forward`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn import functional

from lmio.errors import InvalidArgumentError

__all__ = ["IGNORE_INDEX", "Batch", "ModelInputs", "lm_loss", "to_model_inputs"]

IGNORE_INDEX = -100

Batch = Tensor | Mapping[str, Tensor]


@dataclass(frozen=True)
class ModelInputs:
    input_ids: Tensor
    labels: Tensor
    position_ids: Tensor | None = None
    attn_mask: Tensor | None = None

    def logits(self, model: nn.Module) -> Tensor:
        """Run `model` on these inputs, passing the packing extras only when present, so any
        module that maps input_ids to logits works with plain batches."""
        extras = {"position_ids": self.position_ids, "attn_mask": self.attn_mask}
        return model(  # type: ignore[no-any-return]
            self.input_ids, **{k: v for k, v in extras.items() if v is not None}
        )


def to_model_inputs(batch: Batch, device: torch.device) -> ModelInputs:
    """Split or unpack one batch and move it to `device`."""
    if isinstance(batch, Tensor):
        if batch.dim() != 2 or batch.size(1) < 2 or batch.dtype.is_floating_point:
            raise InvalidArgumentError(
                f"a tensor batch must hold integer token ids [batch, time + 1] with time >= 1, "
                f"got {batch.dtype} {tuple(batch.shape)}"
            )
        tokens = batch.to(device, dtype=torch.long, non_blocking=True)
        return ModelInputs(tokens[:, :-1], tokens[:, 1:])
    if isinstance(batch, Mapping):
        missing = [key for key in ("input_ids", "labels") if key not in batch]
        if missing:
            raise InvalidArgumentError(
                f"a dict batch needs 'input_ids' and 'labels', this one lacks "
                f"{', '.join(map(repr, missing))} (it has {', '.join(map(repr, batch))})"
            )
        input_ids, labels = batch["input_ids"], batch["labels"]
        if input_ids.shape != labels.shape or input_ids.dim() != 2:
            raise InvalidArgumentError(
                f"input_ids and labels must both be [batch, time], got "
                f"{tuple(input_ids.shape)} and {tuple(labels.shape)}"
            )
        position_ids, attn_mask = batch.get("position_ids"), batch.get("attn_mask")
        return ModelInputs(
            input_ids.to(device, dtype=torch.long, non_blocking=True),
            labels.to(device, dtype=torch.long, non_blocking=True),
            None if position_ids is None else position_ids.to(device, non_blocking=True),
            None if attn_mask is None else attn_mask.to(device, non_blocking=True),
        )
    raise InvalidArgumentError(
        f"a batch must be a LongTensor [batch, time + 1] or a dict with 'input_ids' and "
        f"'labels', got {type(batch).__name__}"
    )


def lm_loss(
    logits: Tensor, labels: Tensor, *, reduction: Literal["mean", "sum"] = "mean"
) -> Tensor:
    """Next-token cross-entropy of logits [B, T, V] against labels [B, T], skipping -100.

    The labels are already the next tokens (shifted by the batch, not here). Computed in
    float32 whatever the logits' dtype, so a half-precision model still gets a precise loss.
    """
    return functional.cross_entropy(
        logits.flatten(0, 1).float(),
        labels.flatten(),
        ignore_index=IGNORE_INDEX,
        reduction=reduction,
    )
