"""TokenLoader end to end on small real datasets: content, coverage, order, workers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lmio.loader import TokenLoader, document_attention_mask
from lmio.store import open_dataset

from .conftest import MakeDataset, manifest_of

SEQ_LEN = 8


def window_starts(root: Path, seq_len: int) -> np.ndarray:
    """The first token of every window, by sample id (tokens count up through the stream)."""
    manifest = manifest_of(root)
    group_tokens = [t for s in manifest["shards"] for t in s["row_group_tokens"]]
    starts, at = [], 0
    for n in group_tokens:
        starts.extend(range(at, at + (n - 1) // seq_len * seq_len, seq_len))
        at += n
    return np.array(starts)


def epoch_batches(loader: TokenLoader) -> list[dict[str, torch.Tensor]]:
    return list(loader)


def ids_of(batches: list[dict[str, torch.Tensor]]) -> list[int]:
    return [i for b in batches for i in b["sample_id"].tolist()]


def test_windows_are_the_stream_cut_every_seq_len(make_dataset: MakeDataset) -> None:
    root = make_dataset()
    loader = TokenLoader(root, batch_size=4, seq_len=SEQ_LEN, sample_ids=True, num_threads=2)
    starts = window_starts(root, SEQ_LEN)
    for batch in loader:
        input_ids, labels = batch["input_ids"], batch["labels"]
        assert input_ids.dtype == labels.dtype == torch.int64
        assert input_ids.shape == labels.shape == (4, SEQ_LEN)
        # One copy: both are views of a single [B, T + 1] buffer.
        assert input_ids.untyped_storage().data_ptr() == labels.untyped_storage().data_ptr()
        first = torch.from_numpy(starts[batch["sample_id"].numpy()])
        assert torch.equal(input_ids, first[:, None] + torch.arange(SEQ_LEN))
        assert torch.equal(labels, input_ids + 1)


def test_opened_dataset_and_path_give_the_same_batches(make_dataset: MakeDataset) -> None:
    root = make_dataset()
    by_path = TokenLoader(str(root), batch_size=4, seq_len=SEQ_LEN, seed=5)
    by_dataset = TokenLoader(open_dataset(root), batch_size=4, seq_len=SEQ_LEN, seed=5)
    for a, b in zip(by_path, by_dataset, strict=True):
        assert torch.equal(a["input_ids"], b["input_ids"])


@pytest.mark.parametrize("world_size", [1, 2, 3, 4])
@pytest.mark.parametrize("num_workers", [0, 2])
def test_every_sample_exactly_once_over_ranks_and_workers(
    make_dataset: MakeDataset, world_size: int, num_workers: int
) -> None:
    root = make_dataset()
    starts = window_starts(root, SEQ_LEN)
    seen: list[int] = []
    for rank in range(world_size):
        loader = TokenLoader(
            root,
            batch_size=3,
            seq_len=SEQ_LEN,
            rank=rank,
            world_size=world_size,
            num_workers=num_workers,
            num_threads=1,
            drop_last=False,
            sample_ids=True,
        )
        for batch in loader:
            first = batch["input_ids"][:, 0].numpy()
            assert (first == starts[batch["sample_id"].numpy()]).all()
            seen.extend(batch["sample_id"].tolist())
    assert sorted(seen) == list(range(len(starts)))


def test_drop_last_gives_every_rank_the_same_number_of_full_batches(
    make_dataset: MakeDataset,
) -> None:
    root = make_dataset()
    loaders = [
        TokenLoader(root, batch_size=5, seq_len=SEQ_LEN, rank=r, world_size=3, sample_ids=True)
        for r in range(3)
    ]
    per_rank = [epoch_batches(loader) for loader in loaders]
    assert {len(batches) for batches in per_rank} == {len(loaders[0])}
    assert all(b["input_ids"].shape[0] == 5 for batches in per_rank for b in batches)
    seen = [i for batches in per_rank for i in ids_of(batches)]
    assert len(seen) == len(set(seen)) == len(loaders[0]) * 15


def test_workers_deliver_the_same_batches_in_the_same_order(make_dataset: MakeDataset) -> None:
    root = make_dataset()
    threads = TokenLoader(root, batch_size=4, seq_len=SEQ_LEN, seed=3, sample_ids=True)
    workers = TokenLoader(
        root, batch_size=4, seq_len=SEQ_LEN, seed=3, sample_ids=True, num_workers=2
    )
    assert ids_of(epoch_batches(threads)) == ids_of(epoch_batches(workers))


def test_a_plain_dataloader_with_workers_splits_the_same_way(make_dataset: MakeDataset) -> None:
    root = make_dataset()
    loader = TokenLoader(root, batch_size=4, seq_len=SEQ_LEN, sample_ids=True, num_threads=1)
    expected = ids_of(epoch_batches(loader))
    fresh = TokenLoader(root, batch_size=4, seq_len=SEQ_LEN, sample_ids=True, num_threads=1)
    dataloader = torch.utils.data.DataLoader(fresh, batch_size=None, num_workers=2)
    assert ids_of(list(dataloader)) == expected


def test_same_seed_same_order_other_seed_other_order(make_dataset: MakeDataset) -> None:
    root = make_dataset()

    def order(seed: int) -> list[int]:
        loader = TokenLoader(root, batch_size=4, seq_len=SEQ_LEN, seed=seed, sample_ids=True)
        return ids_of(epoch_batches(loader))

    assert order(1) == order(1)
    assert order(1) != order(2)
    assert sorted(order(1)) == sorted(order(2))


def test_each_iter_runs_the_next_epoch_in_a_new_order(make_dataset: MakeDataset) -> None:
    root = make_dataset()
    loader = TokenLoader(root, batch_size=4, seq_len=SEQ_LEN, sample_ids=True, drop_last=False)
    first, second = ids_of(epoch_batches(loader)), ids_of(epoch_batches(loader))
    assert loader.epoch == 2
    assert first != second
    assert sorted(first) == sorted(second) == list(range(loader.samples_per_epoch))


def test_no_shuffle_reads_in_manifest_order(make_dataset: MakeDataset) -> None:
    root = make_dataset()
    loader = TokenLoader(
        root, batch_size=4, seq_len=SEQ_LEN, shuffle=False, sample_ids=True, drop_last=False
    )
    assert ids_of(epoch_batches(loader)) == list(range(loader.samples_per_epoch))


def test_pad_gives_one_document_per_row(make_dataset: MakeDataset) -> None:
    lengths = [1, 2, 3, 9, 10, 30]
    root = make_dataset(lengths, docs_per_group=2)
    loader = TokenLoader(
        root, batch_size=6, seq_len=SEQ_LEN, packing="pad", shuffle=False, pad_id=7
    )
    (batch,) = epoch_batches(loader)
    assert set(batch) == {"input_ids", "labels", "attention_mask"}
    starts = np.cumsum([0, *lengths])
    for row, (n, start) in enumerate(zip(lengths, starts, strict=False)):
        real = min(n, SEQ_LEN + 1) - 1
        assert batch["attention_mask"][row].tolist() == [1] * real + [0] * (SEQ_LEN - real)
        assert batch["input_ids"][row, :real].tolist() == list(range(start, start + real))
        assert batch["labels"][row, :real].tolist() == list(range(start + 1, start + real + 1))
        assert (batch["input_ids"][row, real:] == 7).all()
        assert (batch["labels"][row, real:] == -100).all()
    assert loader.metrics().tokens == sum(min(n, SEQ_LEN + 1) - 1 for n in lengths)


def test_boundaries_restart_positions_at_each_document(make_dataset: MakeDataset) -> None:
    lengths = [5, 3, 12, 2, 2, 7]
    root = make_dataset(lengths, docs_per_group=6)
    loader = TokenLoader(
        root, batch_size=1, seq_len=SEQ_LEN, shuffle=False, boundaries=True, drop_last=False
    )
    doc_starts = set(np.cumsum([0, *lengths]).tolist())
    for batch in loader:
        tokens = batch["input_ids"][0].tolist()
        positions = batch["position_ids"][0].tolist()
        documents = batch["document_ids"][0].tolist()
        expected_pos, expected_doc = [], []
        for t, token in enumerate(tokens):
            new = t == 0 or token in doc_starts
            expected_doc.append(0 if t == 0 else expected_doc[-1] + new)
            expected_pos.append(0 if new else expected_pos[-1] + 1)
        assert positions == expected_pos
        assert documents == expected_doc
        mask = document_attention_mask(batch["document_ids"])
        assert mask.shape == (1, SEQ_LEN, SEQ_LEN)
        assert mask[0, 0].tolist() == [d == 0 for d in documents]


def test_uint16_tokens_come_out_as_int64(make_dataset: MakeDataset) -> None:
    root = make_dataset([40] * 8, token_type="uint16", start=65_000)
    loader = TokenLoader(root, batch_size=2, seq_len=SEQ_LEN, shuffle=False)
    batch = next(iter(loader))
    assert batch["input_ids"].dtype == torch.int64
    assert batch["input_ids"][0].tolist() == list(range(65_000, 65_000 + SEQ_LEN))


def test_pin_memory_is_accepted(make_dataset: MakeDataset) -> None:
    loader = TokenLoader(make_dataset(), batch_size=2, seq_len=SEQ_LEN, pin_memory=True)
    batch = next(iter(loader))
    assert batch["input_ids"].is_pinned() == torch.cuda.is_available()
    if torch.cuda.is_available():  # each goes to the GPU with one asynchronous copy
        assert batch["input_ids"].is_contiguous() and batch["labels"].is_contiguous()


def test_uneven_shards_and_a_tiny_cache_still_give_every_sample(
    make_dataset: MakeDataset,
) -> None:
    root = make_dataset(docs_per_group=3, groups_per_shard=[1, 7, 2, 5])
    loader = TokenLoader(
        root, batch_size=4, seq_len=SEQ_LEN, cache_bytes=0, sample_ids=True, drop_last=False
    )
    assert sorted(ids_of(epoch_batches(loader))) == list(range(loader.samples_per_epoch))
    metrics = loader.metrics()
    assert metrics.row_groups_read >= len(manifest_of(root)["shards"])


def test_metrics_count_tokens_waits_and_cache_hits(make_dataset: MakeDataset) -> None:
    loader = TokenLoader(make_dataset(), batch_size=4, seq_len=SEQ_LEN)
    epoch_batches(loader)
    first = loader.metrics()
    assert first.batches == len(loader)
    assert first.tokens == len(loader) * 4 * SEQ_LEN
    assert first.tokens_per_second > 0
    assert 0 <= first.wait_seconds <= first.seconds + 1.0
    assert first.first_batch_seconds is not None
    epoch_batches(loader)  # everything is cached now: no new reads
    second = loader.metrics()
    assert second.row_groups_read == first.row_groups_read
    assert second.cache_hit_rate is not None and second.cache_hit_rate > first.cache_hit_rate
    loader.reset_metrics()
    assert loader.metrics().batches == 0


def test_a_cache_smaller_than_a_shuffle_window_is_named(
    make_dataset: MakeDataset, caplog: pytest.LogCaptureFixture
) -> None:
    root = make_dataset(docs_per_group=3, groups_per_shard=[4, 4])
    with caplog.at_level("WARNING", logger="lmio.loader"):
        TokenLoader(root, batch_size=2, seq_len=SEQ_LEN, cache_bytes=1)
    assert "cache_bytes=1 holds fewer row groups than a shuffle window spans" in caplog.text
    assert "raise cache_bytes to" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="lmio.loader"):
        TokenLoader(root, batch_size=2, seq_len=SEQ_LEN)  # the default holds it
        TokenLoader(root, batch_size=2, seq_len=SEQ_LEN, cache_bytes=0)  # no cache, as asked
    assert caplog.text == ""
