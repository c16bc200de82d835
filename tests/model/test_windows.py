"""Token files and the windows the CLI and the quickstart cut from them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lmio.errors import DataError, FormatError, NotFoundError
from lmio.model._windows import (
    check_vocab,
    load_token_file,
    random_windows,
    sequential_windows,
)


def test_random_windows_are_seeded_consecutive_runs() -> None:
    tokens = np.arange(1000, dtype=np.uint16)
    first = next(random_windows(tokens, batch_size=4, seq_len=8, seed=1))
    again = next(random_windows(tokens, batch_size=4, seq_len=8, seed=1))
    other = next(random_windows(tokens, batch_size=4, seq_len=8, seed=2))
    assert first.shape == (4, 9) and first.dtype == torch.long
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert torch.equal(first - first[:, :1], torch.arange(9).expand(4, 9))


def test_sequential_windows_predict_each_token_once() -> None:
    tokens = np.arange(30, dtype=np.int32)
    batches = list(sequential_windows(tokens, batch_size=2, seq_len=4))
    rows = torch.cat(batches)
    assert [len(b) for b in batches] == [2, 2, 2, 1]
    assert rows[:, 1:].flatten().tolist() == list(range(1, 29))


def test_too_short_for_one_window_says_what_to_do() -> None:
    with pytest.raises(
        DataError, match=r"holds 5 tokens, too few for one window of seq_len \+ 1 = 9"
    ):
        random_windows(np.arange(5), batch_size=1, seq_len=8, seed=0)


def test_load_token_file_accepts_integer_arrays(tmp_path: Path) -> None:
    path = tmp_path / "tokens.npy"
    np.save(path, np.array([1, 2, 3], dtype=np.uint16))
    assert load_token_file(path).tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    ("array", "error", "message"),
    [
        (np.zeros(4, dtype=np.float32), FormatError, "holds a float32 array .* integer"),
        (np.zeros((2, 3), dtype=np.int64), FormatError, r"shape \(2, 3\)"),
        (np.zeros(0, dtype=np.int64), DataError, "is empty"),
        (np.array([3, -1], dtype=np.int64), DataError, "negative token ids"),
        (np.array(["a"], dtype=object), FormatError, "cannot read .* as a .npy array"),
    ],
)
def test_load_token_file_refuses_bad_arrays(
    tmp_path: Path, array: np.ndarray, error: type[Exception], message: str
) -> None:
    path = tmp_path / "tokens.npy"
    np.save(path, array, allow_pickle=True)
    with pytest.raises(error, match=message):
        load_token_file(path)


def test_load_token_file_refuses_missing_and_non_npy_files(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"token file not found"):
        load_token_file(tmp_path / "nope.npy")
    (tmp_path / "text.npy").write_text("hello")
    with pytest.raises(FormatError, match=r"cannot read"):
        load_token_file(tmp_path / "text.npy")


def test_check_vocab_names_the_largest_id() -> None:
    check_vocab(np.array([0, 255]), 256, source="t.npy")
    with pytest.raises(
        DataError, match=r"t.npy holds token id 256, but the model's vocabulary has 256"
    ):
        check_vocab(np.array([0, 256]), 256, source="t.npy")
