"""Samples to [B, T] tensors: windows cut from a row group's token stream, or padded documents.

Tokens are written once, straight from the decoded Arrow values (uint16 or uint32) into int64
buffers: no intermediate arrays of tokens, and no Python per token (one slice assignment per
sample).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from lmio.loader._source import TokenBlock

__all__ = ["IGNORE_INDEX", "Packer", "document_attention_mask", "window_counts"]

IGNORE_INDEX = -100


def window_counts(group_tokens: np.ndarray, seq_len: int) -> np.ndarray:
    """Windows of seq_len + 1 tokens, starting every seq_len tokens, in each row group."""
    counts: np.ndarray = np.maximum(group_tokens - 1, 0) // seq_len
    return counts


def document_attention_mask(document_ids: torch.Tensor) -> torch.Tensor:
    """The bool mask [B, T, T] that keeps packed documents apart: position t may attend to s
    only inside its own document (combine with the causal mask, as `lmio.GPT` does with its
    `attn_mask` argument)."""
    return document_ids[:, :, None] == document_ids[:, None, :]


@dataclass(frozen=True)
class Packer:
    """Builds one batch's tensors; `pin` allocates them in page-locked memory."""

    seq_len: int
    packing: str
    pad_id: int
    boundaries: bool
    pin: bool

    def build(
        self, blocks: Sequence[TokenBlock], which: np.ndarray, index: np.ndarray
    ) -> tuple[dict[str, torch.Tensor], int]:
        """Sample b is sample `index[b]` of `blocks[which[b]]`; returns tensors and the number
        of target tokens (labels other than -100)."""
        if self.packing == "concat":
            return self._concat(blocks, which, index)
        return self._pad(blocks, which, index)

    def _empty(self, rows: int, dtype: torch.dtype = torch.int64) -> torch.Tensor:
        return torch.empty((rows, self.seq_len), dtype=dtype, pin_memory=self.pin)

    def _concat(
        self, blocks: Sequence[TokenBlock], which: np.ndarray, index: np.ndarray
    ) -> tuple[dict[str, torch.Tensor], int]:
        """input_ids and labels are the two [B, T] views of one [B, T + 1] buffer (one cast
        per token); pinned batches get two contiguous tensors instead, so each goes to the
        GPU with one asynchronous copy."""
        t = self.seq_len
        rows = len(index)
        starts = index * t
        if self.pin:
            input_ids, labels = self._empty(rows), self._empty(rows)
            inputs_np, labels_np = input_ids.numpy(), labels.numpy()
            for b, (block, start) in enumerate(zip(which.tolist(), starts.tolist(), strict=True)):
                values = blocks[block].values
                inputs_np[b] = values[start : start + t]
                labels_np[b] = values[start + 1 : start + t + 1]
        else:
            windows = torch.empty((rows, t + 1), dtype=torch.int64)
            windows_np = windows.numpy()
            for b, (block, start) in enumerate(zip(which.tolist(), starts.tolist(), strict=True)):
                windows_np[b] = blocks[block].values[start : start + t + 1]
            input_ids, labels = windows[:, :-1], windows[:, 1:]
        batch = {"input_ids": input_ids, "labels": labels}
        if self.boundaries:
            batch.update(self._boundaries(blocks, which, starts))
        return batch, rows * t

    def _boundaries(
        self, blocks: Sequence[TokenBlock], which: np.ndarray, starts: np.ndarray
    ) -> dict[str, torch.Tensor]:
        """position_ids restart at 0 at each document (and at the window's start);
        document_ids number the documents of each row 0, 1, 2, ..."""
        t = self.seq_len
        first = np.zeros((len(starts), t), dtype=bool)
        first[:, 0] = True
        for b, (block, start) in enumerate(zip(which.tolist(), starts.tolist(), strict=True)):
            offsets = blocks[block].offsets
            lo, hi = np.searchsorted(offsets, [start + 1, start + t])
            first[b, offsets[lo:hi] - start] = True
        document_ids = self._empty(len(starts), torch.int32)
        np.cumsum(first, axis=1, dtype=np.int32, out=document_ids.numpy())
        document_ids.sub_(1)
        position = np.arange(t, dtype=np.int64)
        doc_start = np.maximum.accumulate(np.where(first, position, 0), axis=1)
        position_ids = self._empty(len(starts))
        np.subtract(position, doc_start, out=position_ids.numpy())
        return {"position_ids": position_ids, "document_ids": document_ids}

    def _pad(
        self, blocks: Sequence[TokenBlock], which: np.ndarray, index: np.ndarray
    ) -> tuple[dict[str, torch.Tensor], int]:
        t = self.seq_len
        rows = len(index)
        input_ids, labels = self._empty(rows), self._empty(rows)
        input_ids.fill_(self.pad_id)
        labels.fill_(IGNORE_INDEX)
        inputs_np, labels_np = input_ids.numpy(), labels.numpy()
        lengths = np.empty(rows, dtype=np.int64)
        for b, (block, row) in enumerate(zip(which.tolist(), index.tolist(), strict=True)):
            offsets = blocks[block].offsets
            start = int(offsets[row])
            n = min(int(offsets[row + 1]) - start, t + 1) - 1
            lengths[b] = max(n, 0)
            if n > 0:
                values = blocks[block].values
                inputs_np[b, :n] = values[start : start + n]
                labels_np[b, :n] = values[start + 1 : start + n + 1]
        attention_mask = self._empty(rows)
        np.less(np.arange(t), lengths[:, None], out=attention_mask.numpy(), casting="unsafe")
        return {
            "input_ids": input_ids,
            "labels": labels,
            "attention_mask": attention_mask,
        }, int(lengths.sum())
