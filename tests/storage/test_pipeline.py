"""The whole path on S3: a corpus and tokenizer on the server, `prepare` from and to it, the
loader reading it (under faults and a server restart), the disk cache, model checkpoints."""

from __future__ import annotations

import gc
import hashlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from lmio.errors import IntegrityError, StorageError
from lmio.loader import TokenLoader
from lmio.prepare import prepare
from lmio.store import (
    Dataset,
    DiskCache,
    get_default_storage_options,
    open_dataset,
    read_bytes,
    set_default_storage_options,
    write_bytes_atomic,
)
from lmio.tokenizer import Tokenizer

from ._faults import FaultPlan, FaultProxy, proxied_options
from ._s3 import S3Server

LOADER = {"batch_size": 8, "seq_len": 64, "sample_ids": True, "num_threads": 2}


def corpus() -> list[str]:
    from pydoc_data.topics import topics

    return [text for _, text in sorted(topics.items())[:60]]


def upload_corpus(bucket: str) -> None:
    tok = Tokenizer.train(corpus(), vocab_size=600, special_tokens=["<|endoftext|>"])
    tok.save(f"{bucket}/tokenizer.json")
    for i, text in enumerate(corpus()):
        write_bytes_atomic(f"{bucket}/corpus/{i:03d}.txt", text.encode())


def prepare_s3(bucket: str, out: str, **options: Any) -> Any:
    return prepare(
        f"{bucket}/corpus/",
        tokenizer=f"{bucket}/tokenizer.json",
        out=out,
        workers=1,
        shard_size="24kB",
        row_group_tokens=2048,
        **options,
    )


def copy_down(server: S3Server, url: str, to: Path) -> None:
    bucket, prefix = url[5:].split("/", 1)
    client = server.client()
    for item in client.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]:
        target = to / item["Key"][len(prefix) + 1 :]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())


def epoch(dataset: Any) -> list[tuple[list[int], torch.Tensor]]:
    return [
        (batch["sample_id"].tolist(), batch["input_ids"])
        for batch in TokenLoader(dataset, **LOADER)
    ]


def same(a: list[tuple[list[int], torch.Tensor]], b: list[tuple[list[int], torch.Tensor]]) -> bool:
    return len(a) == len(b) and all(
        x[0] == y[0] and torch.equal(x[1], y[1]) for x, y in zip(a, b, strict=True)
    )


@pytest.fixture(scope="module")
def dataset(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A dataset prepared from a corpus on S3 into S3, and a local copy of its files."""
    bucket = f"s3://{s3_server.new_bucket()}"
    upload_corpus(bucket)
    report = prepare_s3(bucket, f"{bucket}/ds")
    assert report.shards >= 8
    local = tmp_path_factory.mktemp("ds")
    copy_down(s3_server, f"{bucket}/ds", local)
    return f"{bucket}/ds", local


@pytest.fixture(scope="module")
def reference(dataset: tuple[str, Path]) -> list[tuple[list[int], torch.Tensor]]:
    """One epoch of the local copy: what every run from S3 must give."""
    return epoch(str(dataset[1]))


@pytest.fixture
def through(fault_proxy: FaultProxy) -> Iterator[FaultProxy]:
    """Every storage call of the process goes through the fault proxy (as the CLI's
    --storage-option would send it), with short timeouts and quick retries."""
    saved = get_default_storage_options()
    set_default_storage_options(proxied_options(fault_proxy, read_timeout=0.5))
    yield fault_proxy
    set_default_storage_options(saved)


def test_the_loader_reads_s3_as_it_reads_local_disk(
    dataset: tuple[str, Path], reference: list[Any]
) -> None:
    assert len(reference) > 20
    assert same(epoch(dataset[0]), reference)


def test_no_sample_is_lost_or_repeated_across_a_hundred_faults(
    dataset: tuple[str, Path], reference: list[Any], through: FaultProxy
) -> None:
    kinds = ["reset", "reset_mid", "slowdown", "error500"] * 5 + ["stall"]
    through.plan = FaultPlan(rate=0.4, kinds=kinds, seed=11)
    runs = 0
    while through.plan.total < 100:
        assert same(epoch(dataset[0]), reference)
        runs += 1
    assert all(through.plan.injected[kind] > 0 for kind in set(kinds)), through.plan.injected
    assert runs <= 6


def test_the_loader_goes_on_across_a_server_restart_mid_epoch(
    dataset: tuple[str, Path], reference: list[Any], through: FaultProxy, s3_server: S3Server
) -> None:
    through.plan = FaultPlan(rate=0.0)
    # A small cache and prefetch: most row groups are still to read when the server goes.
    batches = iter(TokenLoader(dataset[0], **LOADER, cache_bytes=1 << 16, prefetch=1))
    got = [next(batches) for _ in range(5)]
    s3_server.stop()
    through.sever()
    threading.Timer(0.5, s3_server.start).start()
    got.extend(batches)
    assert same([(b["sample_id"].tolist(), b["input_ids"]) for b in got], reference)
    assert through.refused > 0


def test_the_loader_reads_through_the_disk_cache(
    dataset: tuple[str, Path], reference: list[Any], through: FaultProxy, tmp_path: Path
) -> None:
    through.plan = FaultPlan(rate=0.0)
    cache = DiskCache(tmp_path, max_bytes="64MB")
    cold = open_dataset(dataset[0], cache=cache)
    assert same(epoch(cold), reference)
    assert sorted(cache.urls()) == sorted(shard.url for shard in cold.shards)  # small: whole
    through.seen.clear()
    warm = open_dataset(dataset[0], cache=cache)
    assert [line.split()[0] for line in through.seen] == ["HEAD", "HEAD", "GET"], through.seen
    assert all("manifest.json" in line for line in through.seen)  # no listing, no shard
    requests = through.plan.requests
    assert same(epoch(warm), reference)
    assert through.plan.requests == requests  # every shard from local disk
    in_workers = TokenLoader(warm, **LOADER, num_workers=2)  # the cache travels by pickle
    assert same([(b["sample_id"].tolist(), b["input_ids"]) for b in in_workers], reference)
    by_url = TokenLoader(dataset[0], **LOADER, disk_cache=cache)  # the loader opens it
    assert same([(b["sample_id"].tolist(), b["input_ids"]) for b in by_url], reference)
    assert through.plan.requests == requests + 3  # the manifest: HEAD, HEAD, GET


def test_the_loader_reads_row_group_ranges_through_the_disk_cache(
    dataset: tuple[str, Path], reference: list[Any], through: FaultProxy, tmp_path: Path
) -> None:
    through.plan = FaultPlan(rate=0.0)
    cache = DiskCache(tmp_path, max_bytes="64MB")
    cold = open_dataset(dataset[0], cache=cache, by_range=True)
    assert same(epoch(cold), reference)
    # Cached range by range: each shard's footer and row groups, each verified on its own.
    assert sorted(cache.urls()) == sorted(_ranges(cold))
    requests = through.plan.requests
    warm = open_dataset(dataset[0], cache=cache, by_range=True)
    assert same(epoch(warm), reference)
    assert through.plan.requests == requests + 3  # the manifest: HEAD, HEAD, GET


def _ranges(dataset: Dataset) -> list[str]:
    return [
        f"{shard.url}#bytes={r.offset}-{r.end}"
        for shard in dataset.shards
        if shard.ranges is not None
        for r in (*shard.ranges.row_groups, shard.ranges.footer)
    ]


def test_shards_without_recorded_ranges_are_cached_whole(
    dataset: tuple[str, Path], reference: list[Any], tmp_path: Path
) -> None:
    """A manifest from before ranges were recorded: the whole shards are cached and hashed."""
    manifest = json.loads(read_bytes(f"{dataset[0]}/manifest.json"))
    for shard in manifest["shards"]:
        del shard["ranges"]
    cache = DiskCache(tmp_path, max_bytes="64MB")
    older = Dataset(dataset[0], manifest, cache=cache, by_range=True)
    assert same(epoch(older), reference)
    assert sorted(cache.urls()) == sorted(shard.url for shard in older.shards)


def test_a_damaged_row_group_is_named(
    s3_server: S3Server, dataset: tuple[str, Path], tmp_path: Path
) -> None:
    """One flipped byte in one row group of a copy of the dataset: every other row group
    reads, and the damaged one fails its own checksum, twice, naming its bytes."""
    copy = f"s3://{s3_server.new_bucket()}/ds"
    for path in sorted(dataset[1].rglob("*")):
        if path.is_file():
            write_bytes_atomic(
                f"{copy}/{path.relative_to(dataset[1]).as_posix()}", path.read_bytes()
            )
    shard = open_dataset(copy).shards[3]
    assert shard.ranges is not None
    damaged = shard.ranges.row_groups[1]
    data = bytearray((dataset[1] / shard.path).read_bytes())
    data[damaged.offset + damaged.length // 2] ^= 0xFF
    write_bytes_atomic(shard.url, bytes(data))
    ranged = open_dataset(copy, cache=DiskCache(tmp_path, max_bytes="64MB"), by_range=True)
    with ranged.open_shard(3) as reader:
        reader.read_tokens(0)  # its own range verifies
        with pytest.raises(
            IntegrityError, match=rf"#bytes={damaged.offset}-{damaged.end} is damaged"
        ):
            reader.read_tokens(1)
    with pytest.raises(IntegrityError, match="downloaded twice"):
        ranged.verify()


@pytest.mark.parametrize("by_range", [False, True])
def test_a_dataset_larger_than_the_disk_cache_reads_the_same(
    dataset: tuple[str, Path], reference: list[Any], tmp_path: Path, by_range: bool
) -> None:
    shards = open_dataset(dataset[0]).shards
    limit = sum(shard.bytes for shard in shards) // 2
    cache = DiskCache(tmp_path, max_bytes=limit)
    cached = open_dataset(dataset[0], cache=cache, by_range=by_range)
    assert same(epoch(cached), reference)
    entries = _ranges(cached) if by_range else [shard.url for shard in shards]
    assert len(cache.urls()) < len(entries)  # entries were evicted as the epoch went on
    gc.collect()
    cache.clear()  # the loader's readers released every pin
    assert cache.usage == 0


def test_an_interrupted_prepare_resumes_to_the_same_dataset(
    s3_server: S3Server, fault_proxy: FaultProxy, dataset: tuple[str, Path]
) -> None:
    bucket = "s3://" + dataset[0][5:].split("/", 1)[0]
    fault_proxy.plan = FaultPlan(rate=1.0, kinds=["slowdown"], after=400)  # of ~760
    options = proxied_options(fault_proxy, retries=2)
    with pytest.raises(StorageError, match="SlowDown"):
        prepare_s3(bucket, f"{bucket}/again", storage_options=options)
    assert fault_proxy.plan.total > 0
    fault_proxy.plan = None
    report = prepare_s3(bucket, f"{bucket}/again", storage_options=options)
    assert report.units_resumed + report.shards_resumed > 0
    first = json.loads(read_bytes(f"{dataset[0]}/manifest.json"))
    second = json.loads(read_bytes(f"{bucket}/again/manifest.json"))
    assert first["shards"] == second["shards"]


def test_a_model_checkpoint_round_trips_through_faults(bucket: str, through: FaultProxy) -> None:
    from lmio.model import GPT, GPTConfig, load_model, save_model

    torch.manual_seed(0)
    config = GPTConfig(vocab_size=2048, n_layer=4, n_head=4, d_model=256, block_size=64)
    model = GPT(config)  # 12 MB of weights: a multipart upload of three parts
    through.plan = FaultPlan(rate=0.5, kinds=["reset", "reset_mid", "slowdown"], seed=5)
    save_model(model, f"{bucket}/ckpt")
    loaded = load_model(f"{bucket}/ckpt")
    assert through.plan.total >= 3
    for (name, a), (_, b) in zip(
        model.state_dict().items(), loaded.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    # HEAD and GET config.json, HEAD the weights, then their first part comes back damaged.
    through.plan = FaultPlan(rate=1.0, kinds=["corrupt"], after=3, limit=1)
    through.seen.clear()
    load_model(f"{bucket}/ckpt")
    assert through.plan.injected["corrupt"] == 1
    assert through.seen[3].startswith("GET") and "model.safetensors" in through.seen[3]
    assert through.seen[6:] == through.seen[2:6]  # read once more: HEAD, three 5 MiB parts
    weights = read_bytes(f"{bucket}/ckpt/model.safetensors")
    meta = json.loads(read_bytes(f"{bucket}/ckpt/config.json"))
    assert hashlib.sha256(weights).hexdigest() == meta["weights"]["sha256"]


def test_a_model_checkpoint_takes_its_own_storage_options(
    bucket: str, fault_proxy: FaultProxy
) -> None:
    """Options given to save_model/load_model, not the process's defaults, route the
    requests (here: through the proxy, which sees them)."""
    from lmio.model import GPT, GPTConfig, load_model, save_model

    model = GPT(GPTConfig(vocab_size=256, n_layer=1, n_head=2, d_model=32, block_size=16))
    options = proxied_options(fault_proxy)
    save_model(model, f"{bucket}/small", storage_options=options)
    loaded = load_model(f"{bucket}/small", storage_options=options)
    assert any("config.json" in line for line in fault_proxy.seen)
    assert any("model.safetensors" in line for line in fault_proxy.seen)
    for (name, a), (_, b) in zip(
        model.state_dict().items(), loaded.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name


class RecordingCache(DiskCache):
    """A DiskCache that notes the order of its background downloads."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prefetched: list[tuple[str, int | None]] = []

    def prefetch(self, url: str, **kwargs: Any) -> Any:
        self.prefetched.append((url, kwargs.get("offset")))
        return super().prefetch(url, **kwargs)


@pytest.mark.parametrize("by_range", [False, True])
def test_background_downloads_follow_the_loaders_shuffled_order(
    dataset: tuple[str, Path], reference: list[Any], tmp_path: Path, by_range: bool
) -> None:
    cache = RecordingCache(tmp_path, max_bytes="64MB")
    cold = open_dataset(dataset[0], cache=cache, by_range=by_range)
    loader = TokenLoader(cold, **LOADER)
    batches = iter(loader)
    next(batches)
    read_order = cold._read_order  # set by the loader for this epoch: (shard, row group)
    everything = [(s.index, g) for s in cold.shards for g in range(len(s.row_group_rows))]
    assert read_order is not None and sorted(read_order) == everything
    assert read_order != everything  # shuffled, not the manifest's order
    # From the first read of the first shard opened, in the order the loader will read
    # them: whole shards, or each shard's footer when it first comes up and every row
    # group's range.
    urls = [shard.url for shard in cold.shards]
    opened = urls.index(cache.prefetched[0][0])
    first = next(k for k, (shard, _) in enumerate(read_order) if shard == opened)
    expected: list[tuple[str, int | None]] = []
    seen: set[int] = set()
    for shard, group in read_order[first:] + read_order[:first]:
        ranges = cold.shards[shard].ranges
        assert ranges is not None
        if shard not in seen:
            seen.add(shard)
            expected.append((urls[shard], ranges.footer.offset if by_range else None))
        if by_range:
            expected.append((urls[shard], ranges.row_groups[group].offset))
    assert cache.prefetched == expected
    del batches
    assert same(epoch(cold), reference)
