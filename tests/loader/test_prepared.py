"""The loader on what `lmio prepare` writes: real text, a trained tokenizer, EOS per document."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lmio.loader import TokenLoader
from lmio.prepare import Documents, prepare
from lmio.store import open_dataset
from lmio.tokenizer import Tokenizer

SEQ_LEN = 64


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pydoc_data.topics import topics

    texts = [text for _, text in sorted(topics.items())][:120]
    tokenizer = Tokenizer.train(texts, vocab_size=400, special_tokens=["<|endoftext|>"])
    out = tmp_path_factory.mktemp("prepared") / "dataset"
    prepare(
        Documents(texts),
        tokenizer=tokenizer,
        out=out,
        workers=1,
        shard_size="64kB",
        row_group_tokens=4096,
        show_progress=False,
    )
    return out


def row_groups(root: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    dataset = open_dataset(root)
    groups = []
    for shard in dataset.shards:
        with dataset.open_shard(shard.index) as reader:
            groups.extend(reader.read_tokens(g) for g in range(reader.num_row_groups))
    return groups


def test_concat_windows_are_each_row_groups_stream(prepared: Path) -> None:
    expected = [
        values[start : start + SEQ_LEN + 1]
        for values, _ in row_groups(prepared)
        for start in range(0, len(values) - SEQ_LEN, SEQ_LEN)
    ]
    assert len(open_dataset(prepared).shards) > 1
    loader = TokenLoader(prepared, batch_size=8, seq_len=SEQ_LEN, shuffle=False, drop_last=False)
    got = [torch.cat([batch["input_ids"], batch["labels"][:, -1:]], dim=1) for batch in loader]
    assert torch.equal(torch.cat(got), torch.from_numpy(np.stack(expected).astype(np.int64)))


def test_pad_rows_are_the_documents_each_ending_with_eos(prepared: Path) -> None:
    eos = open_dataset(prepared).eos_id
    documents = [
        values[offsets[r] : offsets[r + 1]]
        for values, offsets in row_groups(prepared)
        for r in range(len(offsets) - 1)
    ]
    loader = TokenLoader(
        prepared, batch_size=16, seq_len=SEQ_LEN, packing="pad", shuffle=False, drop_last=False
    )
    rows = [row for batch in loader for row in zip(*batch.values(), strict=True)]
    assert len(rows) == len(documents)
    for (input_ids, labels, mask), document in zip(rows, documents, strict=True):
        n = int(mask.sum())
        assert n == min(len(document), SEQ_LEN + 1) - 1
        assert input_ids[:n].tolist() == document[:n].tolist()
        assert labels[:n].tolist() == document[1 : n + 1].tolist()
        if n > 0 and len(document) <= SEQ_LEN + 1:
            assert labels[n - 1] == eos
