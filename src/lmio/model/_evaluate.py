"""Evaluation: token-weighted mean loss and perplexity over a stream of batches."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn

from lmio._progress import Progress
from lmio.errors import DataError, InvalidArgumentError
from lmio.model._batch import IGNORE_INDEX, Batch, lm_loss, to_model_inputs

__all__ = ["EvalResult", "evaluate"]


@dataclass(frozen=True)
class EvalResult:
    """Mean next-token loss (nats) over `tokens` labelled positions in `batches` batches."""

    loss: float
    tokens: int
    batches: int

    @property
    def perplexity(self) -> float:
        # exp overflows a float past ~709 nats; no trained model gets near that.
        return math.exp(self.loss) if self.loss < 700 else math.inf


def evaluate(
    model: nn.Module,
    batches: Iterable[Batch],
    *,
    max_batches: int | None = None,
    device: str | torch.device | None = None,
    progress: bool | None = None,
) -> EvalResult:
    """Loss and perplexity of `model` on `batches` (same formats as `train`).

    Every labelled token weighs the same, so batches with many -100 labels count for less.
    The model runs in eval mode (no dropout) and is put back in the mode it was in.
    """
    if max_batches is not None and max_batches < 1:
        raise InvalidArgumentError(f"max_batches must be >= 1 or None, got {max_batches}")
    target = torch.device(device) if device is not None else next(model.parameters()).device
    model.to(target)
    was_training = model.training
    model.eval()
    total = torch.zeros((), dtype=torch.float64, device=target)
    tokens = torch.zeros((), dtype=torch.long, device=target)
    count = 0
    try:
        with torch.inference_mode(), Progress(desc="eval", total=max_batches, show=progress) as bar:
            for batch in itertools.islice(batches, max_batches):
                inputs = to_model_inputs(batch, target)
                logits = inputs.logits(model)
                total += lm_loss(logits, inputs.labels, reduction="sum").double()
                tokens += (inputs.labels != IGNORE_INDEX).sum()
                count += 1
                bar.update()
    finally:
        model.train(was_training)
    n_tokens = int(tokens.item())
    if n_tokens == 0:
        raise DataError(
            f"nothing to evaluate: {count} batch(es) with no labelled tokens; "
            "pass at least one batch whose labels are not all -100"
        )
    return EvalResult(loss=total.item() / n_tokens, tokens=n_tokens, batches=count)
