"""Token files and the windows cut from them: what `lmio train`, `lmio eval` and the
quickstart feed the model until lmio's Parquet datasets and loader take over.

A token file is a `.npy` array: one dimension, an integer dtype, ids >= 0.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from lmio.errors import DataError, FormatError, InvalidArgumentError, NotFoundError

__all__ = ["check_vocab", "load_token_file", "random_windows", "sequential_windows"]


def load_token_file(path: str | os.PathLike[str]) -> np.ndarray:
    """The token ids in `path` (local files are memory-mapped; URLs are read whole), after
    checking shape, dtype and sign."""
    from lmio.store import is_local, read_bytes

    if is_local(path) and not Path(path).is_file():
        raise NotFoundError(
            f"token file not found: {path}; pass a .npy file of token ids, "
            "e.g. written by numpy.save(path, ids.astype(numpy.uint16))"
        )
    try:
        if is_local(path):
            tokens = np.load(Path(path), mmap_mode="r", allow_pickle=False)
        else:
            tokens = np.load(io.BytesIO(read_bytes(path)), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise FormatError(
            f"cannot read {path} as a .npy array ({exc}); write token ids with numpy.save"
        ) from exc
    if not isinstance(tokens, np.ndarray):
        raise FormatError(
            f"{path} is a .npz archive, not one array: save one array with numpy.save"
        )
    if tokens.ndim != 1 or not np.issubdtype(tokens.dtype, np.integer):
        raise FormatError(
            f"{path} holds a {tokens.dtype} array of shape {tokens.shape}; token files must be "
            "one-dimensional integer arrays: flatten them and cast, e.g. ids.ravel().astype(numpy.uint16)"
        )
    if tokens.size == 0:
        raise DataError(f"token file {path} is empty: it needs token ids to train or evaluate on")
    if np.issubdtype(tokens.dtype, np.signedinteger) and int(tokens.min()) < 0:
        raise DataError(f"{path} holds negative token ids (smallest {int(tokens.min())})")
    return tokens


def check_vocab(tokens: np.ndarray, vocab_size: int, *, source: str) -> None:
    """Refuse ids the model has no embedding for."""
    largest = int(tokens.max())
    if largest >= vocab_size:
        raise DataError(
            f"{source} holds token id {largest}, but the model's vocabulary has {vocab_size} "
            "ids: use token ids from the tokenizer the model was trained with"
        )


def random_windows(
    tokens: np.ndarray, *, batch_size: int, seq_len: int, seed: int, source: str = "the tokens"
) -> Iterator[torch.Tensor]:
    """Endless LongTensor batches [batch_size, seq_len + 1] of windows at seeded random starts."""
    _check_length(tokens, seq_len, source=source)
    rng = np.random.default_rng(seed)

    def batches() -> Iterator[torch.Tensor]:
        while True:
            starts = rng.integers(0, len(tokens) - seq_len, size=batch_size)
            yield _gather(tokens, starts, seq_len)

    return batches()


def sequential_windows(
    tokens: np.ndarray, *, batch_size: int, seq_len: int, source: str = "the tokens"
) -> Iterator[torch.Tensor]:
    """Windows of seq_len + 1 tokens, stepping by seq_len so each token is predicted once; the
    tail shorter than a window is left out. The last batch may be smaller."""
    _check_length(tokens, seq_len, source=source)
    starts = np.arange(0, len(tokens) - seq_len, seq_len)
    return (
        _gather(tokens, starts[i : i + batch_size], seq_len)
        for i in range(0, len(starts), batch_size)
    )


def _gather(tokens: np.ndarray, starts: np.ndarray, seq_len: int) -> torch.Tensor:
    return torch.from_numpy(tokens[starts[:, None] + np.arange(seq_len + 1)].astype(np.int64))


def _check_length(tokens: np.ndarray, seq_len: int, *, source: str) -> None:
    if seq_len < 1:
        raise InvalidArgumentError(f"seq_len must be >= 1, got {seq_len}")
    if len(tokens) < seq_len + 1:
        raise DataError(
            f"{source} holds {len(tokens)} tokens, too few for one window of seq_len + 1 = "
            f"{seq_len + 1}: use a shorter seq_len or more data"
        )
