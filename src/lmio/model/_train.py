"""The training loop: AdamW, linear warmup then cosine decay, gradient clipping."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn

from lmio._progress import Progress
from lmio._units import format_count
from lmio.errors import DataError, InvalidArgumentError
from lmio.model._batch import Batch, lm_loss, to_model_inputs

__all__ = ["TrainResult", "learning_rate", "train"]

logger = logging.getLogger(__name__)

# TrainResult.final_loss averages this many last steps: one step's loss is noisy.
_FINAL_WINDOW = 10


@dataclass(frozen=True)
class TrainResult:
    """What a `train` call did. `losses` holds every step's training loss."""

    steps: int
    losses: tuple[float, ...]
    tokens: int
    seconds: float

    @property
    def final_loss(self) -> float:
        """Mean training loss of the last 10 steps (fewer if there were fewer)."""
        window = self.losses[-_FINAL_WINDOW:]
        return sum(window) / len(window) if window else math.nan

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0


def learning_rate(
    step: int, *, lr: float, min_lr: float, warmup_steps: int, total_steps: int
) -> float:
    """Linear warmup from lr/warmup_steps to lr, then cosine decay to min_lr at total_steps."""
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    decay_steps = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (lr - min_lr)


def train(
    model: nn.Module,
    batches: Iterable[Batch],
    *,
    steps: int,
    lr: float = 1e-3,
    min_lr: float | None = None,
    warmup_steps: int | None = None,
    weight_decay: float = 0.1,
    betas: tuple[float, float] = (0.9, 0.95),
    grad_clip: float | None = 1.0,
    log_every: int = 50,
    device: str | torch.device | None = None,
    progress: bool | None = None,
) -> TrainResult:
    """Train `model` in place for `steps` optimizer steps, one batch each, and report.

    `batches` is any iterable of LongTensor [B, T+1] or `{"input_ids", "labels"}` dicts (see
    `lmio.model.lm_loss` for -100 labels); it stops early, with a warning, if the iterable
    runs out. `min_lr` defaults to lr/10 and `warmup_steps` to 5% of `steps`. Weight decay
    applies to the weight matrices only, not to biases, LayerNorm gains or embeddings (decay
    would pull rarely seen tokens' rows towards zero). `device` defaults to where the model
    is. Loss is logged every `log_every` steps; a non-finite loss stops training with an
    error. Deterministic on CPU for the same model state, batches and settings; dropout draws
    from torch's global generator, so seed it with `torch.manual_seed`.
    """
    _check_positive(steps=steps, lr=lr, log_every=log_every)
    min_lr = lr / 10 if min_lr is None else min_lr
    warmup_steps = max(1, steps // 20) if warmup_steps is None else warmup_steps
    if not 0 <= min_lr <= lr:
        raise InvalidArgumentError(f"min_lr must be between 0 and lr ({lr}), got {min_lr}")
    if warmup_steps < 0 or weight_decay < 0 or (grad_clip is not None and grad_clip <= 0):
        raise InvalidArgumentError(
            f"warmup_steps ({warmup_steps}) and weight_decay ({weight_decay}) must be >= 0 "
            f"and grad_clip ({grad_clip}) > 0 or None"
        )
    target = torch.device(device) if device is not None else _model_device(model)
    model.to(target)
    model.train()
    optimizer = torch.optim.AdamW(
        _parameter_groups(model, weight_decay),
        lr=lr,
        betas=betas,
        fused=target.type == "cuda",
    )
    losses: list[torch.Tensor] = []
    tokens = 0
    batch_iter = iter(batches)
    start = time.perf_counter()
    with Progress(desc="train", total=steps, unit="step", show=progress) as bar:
        for step in range(steps):
            batch = next(batch_iter, None)
            if batch is None:
                logger.warning("batches ran out after %d of %d steps", step, steps)
                break
            inputs = to_model_inputs(batch, target)
            step_lr = learning_rate(
                step, lr=lr, min_lr=min_lr, warmup_steps=warmup_steps, total_steps=steps
            )
            for group in optimizer.param_groups:
                group["lr"] = step_lr
            logits = inputs.logits(model)
            loss = lm_loss(logits, inputs.labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            if grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            optimizer.step()
            # Kept on the device: reading each loss would stall a GPU every step.
            losses.append(loss.detach())
            tokens += inputs.input_ids.numel()
            bar.update()
            if (step + 1) % log_every == 0 or step + 1 == steps:
                value = loss.item()
                if not math.isfinite(value):
                    raise DataError(
                        f"training diverged at step {step + 1}: loss is {value}; "
                        f"lower the learning rate (lr={lr}) or check the data"
                    )
                rate = tokens / (time.perf_counter() - start)
                bar.set_postfix(loss=f"{value:.3f}")
                logger.info(
                    "step %d/%d  loss %.4f  lr %.2e  %s tokens/s",
                    step + 1,
                    steps,
                    value,
                    step_lr,
                    format_count(rate),
                )
    seconds = time.perf_counter() - start
    curve = tuple(torch.stack(losses).tolist()) if losses else ()
    return TrainResult(steps=len(curve), losses=curve, tokens=tokens, seconds=seconds)


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise InvalidArgumentError(f"{name} must be > 0, got {value}")


def _model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _parameter_groups(model: nn.Module, weight_decay: float) -> list[dict[str, object]]:
    """Decay weight matrices; leave biases, norms and embeddings alone.

    Parameters are told apart by identity, so the output head that shares the token
    embedding's weight is counted once, with the embedding.
    """
    no_decay: set[int] = set()
    for module in model.modules():
        if isinstance(module, (nn.Embedding, nn.LayerNorm)):
            no_decay.update(id(p) for p in module.parameters(recurse=False))
        no_decay.update(id(p) for n, p in module.named_parameters(recurse=False) if n == "bias")
    params = [p for p in model.parameters() if p.requires_grad]
    return [
        {"params": [p for p in params if id(p) not in no_decay], "weight_decay": weight_decay},
        {"params": [p for p in params if id(p) in no_decay], "weight_decay": 0.0},
    ]
