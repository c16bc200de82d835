"""Several datasets read as one stream, each taking an exact share of it."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from lmio.errors import InvalidArgumentError

if TYPE_CHECKING:
    from lmio.store import Dataset

__all__ = ["Mixture"]


class Mixture:
    """Datasets mixed by weight, exactly and deterministically.

    Position p of the mixed stream takes its source from a fixed interleaving (weights rounded
    to multiples of 1/10,000), not from random draws: every prefix of the stream holds each
    source within one sample of its weight, and a loader's state (epoch, position) says exactly
    how far each source has been read. A source that runs out starts its next epoch (its own
    order, reshuffled), so a small source repeats and a large one is cut by its weight.

    `datasets` are paths, URLs or opened datasets; `weights` are positive and need not sum to
    1. An epoch of the mixture holds `samples_per_epoch` samples (default: as many as all the
    sources hold together).
    """

    def __init__(
        self,
        datasets: Sequence[str | os.PathLike[str] | Dataset],
        *,
        weights: Sequence[float],
        samples_per_epoch: int | None = None,
    ) -> None:
        if len(datasets) == 0:
            raise InvalidArgumentError("a Mixture needs at least one dataset")
        if len(weights) != len(datasets):
            raise InvalidArgumentError(
                f"a Mixture needs one weight per dataset: got {len(weights)} weights for "
                f"{len(datasets)} datasets"
            )
        if not all(math.isfinite(w) and w > 0 for w in weights):
            raise InvalidArgumentError(
                f"mixture weights must be positive and finite, got {list(weights)}"
            )
        if samples_per_epoch is not None and samples_per_epoch < 1:
            raise InvalidArgumentError(
                f"samples_per_epoch must be >= 1 or None, got {samples_per_epoch}"
            )
        self.datasets = list(datasets)
        self.weights = [float(w) for w in weights]
        self.samples_per_epoch = samples_per_epoch

    def __repr__(self) -> str:
        parts = ", ".join(f"{d!r}: {w:g}" for d, w in zip(self.datasets, self.weights, strict=True))
        return f"Mixture({{{parts}}})"
