"""Token loader benchmark: lmio's TokenLoader against the loaders LLM training uses.

The same token data (all of ../shared/corpora, tokenized by `lmio prepare` with a BPE
tokenizer trained on it, ~21M tokens, repeated to >= 100M) is written in each loader's own
format, and each delivers batches of [B, T] int64 `input_ids` and `labels` from it:

  lmio            TokenLoader over the Parquet shards (reader threads, no worker processes)
  streaming       mosaicml-streaming: MDS shards of T+1-token samples, StreamingDataset + DataLoader
  litdata         litdata: `optimize` with TokensLoader, StreamingDataset + StreamingDataLoader
  HF datasets     Arrow dataset of T+1-token windows (save_to_disk), torch DataLoader
  memmap          a numpy memmap of the raw tokens, windows gathered in-process (Megatron-style)
  parquet limit   the raw read + decompress of the same Parquet row groups by pyarrow (4
                  threads), no batches: what reading this format costs everyone else
  pages           the read + zstd decompression of the same token pages alone (4 threads):
                  no values decoded and no batches, a floor no reader of these files can beat

Each is measured in a fresh process, several times in turn (medians): tokens/s over half an
epoch after the first batch, time from building the loader to its first batch, peak RSS of
the process and its workers, and resume time (a new loader, restored to the middle of the
epoch, to its first batch). Then lmio's first batch on a 1,000-shard dataset. Files are read
from the page cache (warm), as in a steady-state epoch. Everything is written once under
.bench/loader (rerun with --rebuild after changing the data options).

    make bench-env                      # peers that cannot share .venv (numpy pins)
    .venv-bench/bin/python benchmarks/loader.py [--runs 3] [--quick]

Run with another interpreter, it re-runs itself under .venv-bench when that exists, and
otherwise measures the peers it can import and names the missing ones.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
PEERS = ("lmio", "streaming", "litdata", "hf", "memmap", "parquet", "pages")
LABELS = {
    "lmio": ("lmio TokenLoader", "Parquet (zstd)"),
    "streaming": ("mosaicml-streaming", "MDS"),
    "litdata": ("litdata", "optimize chunks"),
    "hf": ("HF datasets", "Arrow + DataLoader"),
    "memmap": ("numpy memmap", "raw uint16 (Megatron-style)"),
    "parquet": ("parquet read+decompress", "Parquet (zstd), pyarrow, limit"),
    "pages": ("zstd pages only", "Parquet (zstd) pages, no decoding"),
}
VOCAB_SIZE = 16_384  # ids fit uint16 in every format


# ----- the data, written once per format ---------------------------------------------------


def build(work: Path, *, peers: list[str], repeat: int, seq_len: int, workers: int) -> None:
    """The format of every peer under `work`, from the same tokens; kept when already there."""
    work.mkdir(parents=True, exist_ok=True)
    base = work / "base"
    if not (base / "manifest.json").exists():
        _prepare_base(base)
    _step(work / "lmio", lambda out: _repeat_dataset(base, out, repeat))
    _step(work / "tokens.bin", lambda out: _write_stream(work / "lmio", out))
    stream = np.memmap(work / "tokens.bin", dtype=np.uint16, mode="r")
    _step(work / "lmio-1000", lambda out: _write_many_shards(stream, base, out, 1000))
    if "streaming" in peers:
        _step(work / "mds", lambda out: _write_mds(stream, out, seq_len))
    if "litdata" in peers:
        _step(
            work / "litdata", lambda out: _write_litdata(work / "tokens.bin", out, seq_len, workers)
        )
    if "hf" in peers:
        _step(work / "hf", lambda out: _write_hf(stream, out, seq_len))


def _step(out: Path, write: Callable[[Path], None]) -> None:
    if out.exists():
        return
    started = time.perf_counter()
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.unlink(missing_ok=True)
    write(tmp)
    tmp.rename(out)
    print(f"  wrote {out.name} in {time.perf_counter() - started:.1f} s", flush=True)


def _prepare_base(out: Path) -> None:
    from lmio.prepare import prepare
    from lmio.tokenizer import Tokenizer

    if not CORPORA.is_dir():
        sys.exit(f"error: {CORPORA} is not here: the benchmark reads ../shared/corpora")
    files = sorted(f for f in glob.glob(str(CORPORA / "*" / "*")) if f.endswith((".txt", ".jsonl")))
    tokenizer = Tokenizer.train(
        files, vocab_size=VOCAB_SIZE, special_tokens=["<|endoftext|>"], show_progress=False
    )
    prepare(files, tokenizer=tokenizer, out=out, shard_size="16MB", show_progress=False)


def _repeat_dataset(base: Path, out: Path, repeat: int) -> None:
    """The base shards `repeat` times over (file copies), under one manifest."""
    from lmio.store._manifest import dump_manifest

    manifest = json.loads((base / "manifest.json").read_text())
    (out / "data").mkdir(parents=True)
    shutil.copy(base / "tokenizer.json", out / "tokenizer.json")
    shards = []
    for copy in range(repeat):
        for shard in manifest["shards"]:
            path = f"data/copy{copy}-{Path(shard['path']).name}"
            os.link(base / shard["path"], out / path)
            shards.append({**shard, "path": path})
    (out / "manifest.json").write_bytes(_manifest_bytes(dump_manifest, manifest, shards))


def _manifest_bytes(
    dump: Callable[..., bytes], manifest: dict[str, Any], shards: list[Any]
) -> bytes:
    return dump(
        tokenizer=manifest["tokenizer"],
        token_type=manifest["token_type"],
        writer=manifest["writer"],
        shards=shards,
        settings=manifest.get("settings", {}),
        inputs=manifest.get("inputs", []),
        report=manifest.get("report", {}),
    )


def _write_stream(dataset: Path, out: Path) -> None:
    """All tokens of the dataset end to end (documents keep their EOS): the memmap's file,
    and the source every other format is cut from."""
    from lmio.store import open_dataset

    opened = open_dataset(dataset)
    with out.open("wb") as sink:
        for shard in opened.shards:
            with opened.open_shard(shard.index) as reader:
                for group in range(reader.num_row_groups):
                    values, _ = reader.read_tokens(group)
                    sink.write(values.astype(np.uint16).tobytes())


def _write_many_shards(stream: np.ndarray, base: Path, out: Path, count: int) -> None:
    """The same tokens in `count` shards (one row group each), with the store's writer."""
    import pyarrow as pa

    from lmio.store._manifest import dump_manifest, shard_path
    from lmio.store._shards import write_shard

    manifest = json.loads((base / "manifest.json").read_text())
    out.mkdir()
    shutil.copy(base / "tokenizer.json", out / "tokenizer.json")
    doc_len = 512  # rows of the stream; the loader cuts windows across them
    shards = []
    for index, part in enumerate(np.array_split(np.arange(len(stream) // doc_len), count)):
        tokens = np.asarray(stream[part[0] * doc_len : (part[-1] + 1) * doc_len])
        rows = tokens.reshape(-1, doc_len)
        table = pa.table(
            {
                "tokens": pa.ListArray.from_arrays(
                    pa.array(np.arange(0, rows.size + 1, doc_len, dtype=np.int32)),
                    pa.array(rows.ravel()),
                ),
                "doc_id": pa.array(part.astype(np.uint64)),
                "source": pa.array(["bench"] * len(part)),
                "n_tokens": pa.array(np.full(len(part), doc_len, dtype=np.uint32)),
            }
        )
        record = write_shard(str(out / shard_path(index)), [table], token_type="uint16")
        shards.append({"path": shard_path(index), "documents": record.rows, **record.to_dict()})
    (out / "manifest.json").write_bytes(_manifest_bytes(dump_manifest, manifest, shards))


def _windows(stream: np.ndarray, seq_len: int) -> np.ndarray:
    """Consecutive, non-overlapping samples of seq_len + 1 tokens (the peers' own packing)."""
    n = len(stream) // (seq_len + 1)
    return np.asarray(stream[: n * (seq_len + 1)]).reshape(n, seq_len + 1)


def _write_mds(stream: np.ndarray, out: Path, seq_len: int) -> None:
    _stub_streaming_vision()
    from streaming import MDSWriter

    with MDSWriter(out=str(out), columns={"tokens": "ndarray:uint16"}, size_limit=1 << 26) as w:
        for window in _windows(stream, seq_len):
            w.write({"tokens": window})


def _litdata_chunk(task: tuple[str, int, int]) -> Iterator[Any]:
    import torch

    path, start, stop = task
    tokens = np.memmap(path, dtype=np.uint16, mode="r")[start:stop]
    yield torch.from_numpy(np.array(tokens))  # uint16, as every other format stores them


def _write_litdata(stream_path: Path, out: Path, seq_len: int, workers: int) -> None:
    from litdata import TokensLoader, optimize

    size = os.path.getsize(stream_path) // 2
    step = 1 << 22
    tasks = [(str(stream_path), lo, min(size, lo + step)) for lo in range(0, size, step)]
    optimize(
        fn=_litdata_chunk,
        inputs=tasks,
        output_dir=str(out),
        chunk_size=(seq_len + 1) * 16384,  # ~64 MB chunks, as litdata's docs use
        item_loader=TokensLoader(),
        num_workers=workers,
        reorder_files=False,
        verbose=False,
    )


def _write_hf(stream: np.ndarray, out: Path, seq_len: int) -> None:
    import datasets
    import pyarrow as pa

    windows = _windows(stream, seq_len)
    column = pa.FixedSizeListArray.from_arrays(pa.array(windows.ravel()), seq_len + 1)
    datasets.disable_progress_bars()
    datasets.Dataset(pa.table({"input_ids": column})).save_to_disk(str(out))


def _stub_streaming_vision() -> None:
    """`import streaming` imports its vision datasets, hence torchvision, whose PyPI wheels
    are CUDA builds that do not load beside CPU torch. Nothing here uses them."""
    import types

    sys.modules.setdefault("streaming.vision", types.ModuleType("streaming.vision"))


# ----- one measurement, in its own process -------------------------------------------------


class PeakRss:
    """Peak RSS of this process and its children (DataLoader workers): the children sampled
    every 250 ms (sampling more often takes the GIL from the loader it measures), this
    process's own peak from the kernel's high-water mark."""

    def __init__(self) -> None:
        import psutil

        self._process = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.wait(0.25):
            total = 0
            for p in [self._process, *self._process.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):  # a worker that just exited
                    total += p.memory_info().rss
            self.peak = max(self.peak, total)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return max(self.peak, _own_peak_rss())


def _own_peak_rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def measure(peer: str, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    b, t = args.batch_size, args.seq_len
    rss = PeakRss()
    if peer == "parquet":
        result = _parquet_limit(work / "lmio")
    elif peer == "pages":
        result = _pages_limit(work / "lmio")
    elif peer == "lmio-1000":
        result = _lmio_first_batch(work / "lmio-1000", b, t)
    else:
        make, state_after, resume = _PEERS[peer](work, args)
        result = _drive(
            make, state_after=state_after, resume=resume, b=b, t=t, max_seconds=args.max_seconds
        )
    result["peak_rss"] = rss.stop()
    return result


def _drive(
    make: Callable[[], _Counted],
    *,
    state_after: Callable[[int], Any],
    resume: Callable[[Any], Iterator[Any]],
    b: int,
    t: int,
    max_seconds: float,
) -> dict[str, Any]:
    """Half an epoch: first batch, then tokens/s; then resume there in a new loader."""
    started = time.perf_counter()
    batches = make()
    first = next(batches)
    first_at, first_cpu = time.perf_counter(), _cpu_seconds()
    _check(first, b, t)
    taken, tokens = 1, 0
    for batch in batches:
        taken += 1
        tokens += batch["input_ids"].numel()
        if taken >= batches.half_epoch_batches or time.perf_counter() - first_at > max_seconds:
            break
    elapsed, cpu = time.perf_counter() - first_at, _cpu_seconds() - first_cpu
    state = state_after(taken)
    del batches
    resume_started = time.perf_counter()
    resumed = resume(state)
    _check(next(resumed), b, t)
    resume_seconds = time.perf_counter() - resume_started
    del resumed
    return {
        "tokens_per_s": tokens / elapsed,
        "tokens_per_cpu_s": tokens / cpu,
        "first_batch_s": first_at - started,
        "resume_s": resume_seconds,
        "tokens": tokens,
    }


def _cpu_seconds() -> float:
    """CPU time of this process and its live children (DataLoader workers): what a loader
    costs, whatever else the machine runs meanwhile."""
    import psutil

    total = 0.0
    me = psutil.Process()
    for p in [me, *me.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = p.cpu_times()
            total += times.user + times.system
    return total


def _check(batch: dict[str, Any], b: int, t: int) -> None:
    import torch

    for name in ("input_ids", "labels"):
        tensor = batch[name]
        if tensor.shape != (b, t) or tensor.dtype != torch.int64:
            raise SystemExit(f"bad batch: {name} {tuple(tensor.shape)} {tensor.dtype}")


class _Counted:
    """An iterator that knows how many batches make half an epoch."""

    def __init__(self, iterator: Iterator[Any], half_epoch_batches: int) -> None:
        self._iterator = iterator
        self.half_epoch_batches = half_epoch_batches

    def __iter__(self) -> _Counted:
        return self

    def __next__(self) -> Any:
        return next(self._iterator)


def _collate(samples: list[np.ndarray]) -> dict[str, Any]:
    import torch

    tokens = torch.from_numpy(np.stack(samples).astype(np.int64))
    return {"input_ids": tokens[:, :-1], "labels": tokens[:, 1:]}


def _lmio(work: Path, args: argparse.Namespace) -> tuple[Any, Any, Any]:
    from lmio.loader import TokenLoader

    def loader() -> TokenLoader:
        return TokenLoader(
            work / "lmio",
            batch_size=args.batch_size,
            seq_len=args.seq_len,
            num_threads=args.threads,
            seed=0,
        )

    holder: dict[str, TokenLoader] = {}

    def make() -> Iterator[Any]:
        holder["loader"] = loader()
        return _Counted(iter(holder["loader"]), len(holder["loader"]) // 2)

    def resume(state: Any) -> Iterator[Any]:
        fresh = loader()
        fresh.load_state_dict(state)
        return iter(fresh)

    return make, lambda _: holder["loader"].state_dict(), resume


def _streaming(work: Path, args: argparse.Namespace) -> tuple[Any, Any, Any]:
    _stub_streaming_vision()
    from streaming import StreamingDataset
    from streaming.base.util import clean_stale_shared_memory
    from torch.utils.data import DataLoader

    class Tokens(StreamingDataset):
        def __getitem__(self, index: int) -> Any:
            return super().__getitem__(index)["tokens"]

    def loader(state: Any = None) -> tuple[Any, Any]:
        clean_stale_shared_memory()
        dataset = Tokens(local=str(work / "mds"), shuffle=True, batch_size=args.batch_size)
        if state is not None:
            dataset.load_state_dict(state)
        dataloader = DataLoader(
            dataset,
            batch_size=args.batch_size,
            num_workers=args.workers,
            collate_fn=_collate,
            drop_last=True,
        )
        return dataset, dataloader

    holder: dict[str, Any] = {}

    def make() -> Iterator[Any]:
        holder["dataset"], dataloader = loader()
        return _Counted(iter(dataloader), len(dataloader) // 2)

    def state_after(batches: int) -> Any:
        return holder["dataset"].state_dict(batches * args.batch_size, from_beginning=True)

    return make, state_after, lambda state: iter(loader(state)[1])


def _litdata(work: Path, args: argparse.Namespace) -> tuple[Any, Any, Any]:
    from litdata import StreamingDataLoader, StreamingDataset, TokensLoader

    def collate(samples: list[Any]) -> dict[str, Any]:
        import torch

        tokens = torch.stack(samples).long()
        return {"input_ids": tokens[:, :-1], "labels": tokens[:, 1:]}

    def loader() -> Any:
        dataset = StreamingDataset(
            str(work / "litdata"),
            item_loader=TokensLoader(block_size=args.seq_len + 1),
            shuffle=True,
            drop_last=True,
            seed=0,
        )
        return StreamingDataLoader(
            dataset, batch_size=args.batch_size, num_workers=args.workers, collate_fn=collate
        )

    holder: dict[str, Any] = {}

    def make() -> Iterator[Any]:
        holder["loader"] = loader()
        return _Counted(iter(holder["loader"]), len(holder["loader"]) // 2)

    def resume(state: Any) -> Iterator[Any]:
        fresh = loader()
        fresh.load_state_dict(state)
        return iter(fresh)

    return make, lambda _: holder["loader"].state_dict(), resume


def _hf(work: Path, args: argparse.Namespace) -> tuple[Any, Any, Any]:
    import datasets
    import torch
    from torch.utils.data import DataLoader

    def collate(rows: list[dict[str, np.ndarray]]) -> dict[str, Any]:
        return _collate([row["input_ids"] for row in rows])

    def loader(skip: int) -> Iterator[Any]:
        dataset = datasets.load_from_disk(str(work / "hf")).with_format("numpy")
        order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(0))
        dataloader = DataLoader(
            dataset,
            batch_size=args.batch_size,
            sampler=order[skip:].tolist(),
            num_workers=args.workers,
            collate_fn=collate,
            drop_last=True,
        )
        return _Counted(iter(dataloader), len(dataloader) // 2)

    return (
        lambda: loader(0),
        lambda batches: batches * args.batch_size,
        loader,
    )


def _memmap(work: Path, args: argparse.Namespace) -> tuple[Any, Any, Any]:
    import torch

    b, t = args.batch_size, args.seq_len

    def batches(skip: int) -> Iterator[Any]:
        tokens = np.memmap(work / "tokens.bin", dtype=np.uint16, mode="r")
        order = np.random.default_rng(0).permutation((len(tokens) - 1) // t)
        span = np.arange(t + 1)

        def generate() -> Iterator[Any]:
            for lo in range(skip, len(order) - b + 1, b):
                window = tokens[order[lo : lo + b, None] * t + span].astype(np.int64)
                x = torch.from_numpy(window)
                yield {"input_ids": x[:, :-1], "labels": x[:, 1:]}

        return _Counted(generate(), len(order) // b // 2)

    return lambda: batches(0), lambda taken: taken * b, batches


_PEERS: dict[str, Callable[[Path, argparse.Namespace], tuple[Any, Any, Any]]] = {
    "lmio": _lmio,
    "streaming": _streaming,
    "litdata": _litdata,
    "hf": _hf,
    "memmap": _memmap,
}


def _parquet_limit(dataset: Path) -> dict[str, Any]:
    """Read and decompress every row group's tokens with pyarrow (memory-mapped, 4 threads),
    as any Parquet reader does, before building a single batch."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lmio.store import open_dataset

    opened = open_dataset(dataset)
    tasks = [(s.url, g) for s in opened.shards for g in range(len(s.row_group_tokens))]
    local = threading.local()

    def read(task: tuple[str, int]) -> int:
        files = local.__dict__.setdefault("files", {})
        url, group = task
        if url not in files:
            files[url] = pq.ParquetFile(pa.memory_map(url))
        table = files[url].read_row_group(group, columns=["tokens"], use_threads=False)
        return len(table.column(0).chunk(0).values)

    return _timed_reads(read, tasks)


def _pages_limit(dataset: Path) -> dict[str, Any]:
    """Read and decompress every page of every row group's tokens (memory-mapped, 4
    threads): the bytes any reader of these files must read and inflate, before it decodes
    a single value or builds a single batch."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lmio.store import open_dataset
    from lmio.store._token_pages import read_compact_struct

    opened = open_dataset(dataset)
    tasks = [(s.url, g) for s in opened.shards for g in range(len(s.row_group_tokens))]
    local = threading.local()
    zstd = pa.Codec("zstd")

    def read(task: tuple[str, int]) -> int:
        files = local.__dict__.setdefault("files", {})
        url, group = task
        if url not in files:
            files[url] = (pq.ParquetFile(url).metadata, pa.memory_map(url))
        metadata, mapped = files[url]
        chunk = metadata.row_group(group).column(0)
        data = memoryview(mapped.read_at(chunk.total_compressed_size, chunk.data_page_offset)).cast(
            "B"
        )
        position = 0
        while position < len(data):
            header, position = read_compact_struct(data, position)
            size, compressed = header[2], header[3]
            zstd.decompress(data[position : position + compressed], decompressed_size=size)
            position += compressed
        return int(chunk.num_values)

    return _timed_reads(read, tasks)


def _timed_reads(
    read: Callable[[tuple[str, int]], int], tasks: list[tuple[str, int]]
) -> dict[str, Any]:
    started, cpu = time.perf_counter(), _cpu_seconds()
    with ThreadPoolExecutor(4) as pool:
        tokens = sum(pool.map(read, tasks))
    return {
        "tokens_per_s": tokens / (time.perf_counter() - started),
        "tokens_per_cpu_s": tokens / (_cpu_seconds() - cpu),
        "tokens": tokens,
    }


def _lmio_first_batch(dataset: Path, b: int, t: int) -> dict[str, Any]:
    from lmio.loader import TokenLoader

    started = time.perf_counter()
    loader = TokenLoader(dataset, batch_size=b, seq_len=t)
    _check(next(iter(loader)), b, t)
    return {"first_batch_s": time.perf_counter() - started}


# ----- the run -----------------------------------------------------------------------------


def _available(peer: str) -> bool:
    module = {"streaming": "streaming.base", "litdata": "litdata", "hf": "datasets"}.get(peer)
    if module is None:
        return True
    if peer == "streaming":
        _stub_streaming_vision()
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def _run_child(peer: str, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--measure",
        peer,
        "--work",
        str(work),
        "--batch-size",
        str(args.batch_size),
        "--seq-len",
        str(args.seq_len),
        *(["--threads", str(args.threads)] if args.threads else []),
        "--workers",
        str(args.workers),
        "--max-seconds",
        str(args.max_seconds),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{peer} failed:\n{done.stdout}\n{done.stderr}")
    return dict(json.loads(lines[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=ROOT / ".bench" / "loader")
    parser.add_argument("--runs", type=int, default=3, help="measurements per loader")
    parser.add_argument("--repeat", type=int, default=5, help="copies of the corpus's tokens")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=2048)
    parser.add_argument(
        "--threads", type=int, help="lmio reader threads (default: the loader's own)"
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="DataLoader workers of the peers (default: 2)"
    )
    parser.add_argument("--max-seconds", type=float, default=60.0, help="cap per measurement")
    parser.add_argument("--quick", action="store_true", help="1 copy, 1 run: a smoke test")
    parser.add_argument("--rebuild", action="store_true", help="write every format again")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure:
        print(json.dumps(measure(args.measure, args.work, args)))
        return
    if (
        not _available("streaming")
        and BENCH_PYTHON.exists()
        and sys.executable != str(BENCH_PYTHON)
    ):
        os.execv(str(BENCH_PYTHON), [str(BENCH_PYTHON), __file__, *sys.argv[1:]])
    if args.quick:
        args.runs, args.repeat = 1, 1
    work = args.work / f"x{args.repeat}-t{args.seq_len}"
    if args.rebuild:
        shutil.rmtree(work, ignore_errors=True)
    peers = [p for p in PEERS if _available(p)]
    missing = [p for p in PEERS if p not in peers]
    print(f"data: {work}", flush=True)
    build(work, peers=peers, repeat=args.repeat, seq_len=args.seq_len, workers=args.workers)

    results: dict[str, list[dict[str, Any]]] = {p: [] for p in [*peers, "lmio-1000"]}
    for run in range(args.runs):
        for peer, runs in results.items():
            runs.append(_run_child(peer, work, args))
            print(f"  run {run + 1}/{args.runs} {peer}: done", flush=True)
    _report(results, missing, args)


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def _report(
    results: dict[str, list[dict[str, Any]]], missing: list[str], args: argparse.Namespace
) -> None:
    from lmio._table import format_table
    from lmio._units import format_bytes, format_count, format_duration

    lmio_rate = _median(results["lmio"], "tokens_per_s") or 0.0
    lmio_cpu = _median(results["lmio"], "tokens_per_cpu_s")
    rows = []
    for peer in PEERS:
        if peer in missing:
            rows.append([*LABELS[peer], "not installed (make bench-env)", *[""] * 6])
            continue
        runs = results[peer]
        rate = _median(runs, "tokens_per_s") or 0.0
        per_cpu = _median(runs, "tokens_per_cpu_s")
        first, resume, rss = (_median(runs, k) for k in ("first_batch_s", "resume_s", "peak_rss"))
        rows.append(
            [
                *LABELS[peer],
                format_count(rate),
                f"{lmio_rate / rate:.2f}x" if rate else "-",
                "-" if per_cpu is None else format_count(per_cpu),
                f"{lmio_cpu / per_cpu:.2f}x" if per_cpu and lmio_cpu else "-",
                "-" if first is None else format_duration(first),
                "-" if resume is None else format_duration(resume),
                "-" if rss is None else format_bytes(rss),
            ]
        )
    tokens = results["lmio"][0]["tokens"]
    print()
    print(
        f"B={args.batch_size} T={args.seq_len}, {format_count(tokens)} tokens per measurement "
        f"(half an epoch), median of {args.runs}; peers with {args.workers} DataLoader "
        f"workers, lmio with {args.threads or 'its default'} reader threads; "
        f"{os.cpu_count()} cores"
    )
    print(
        format_table(
            [
                "loader",
                "format",
                "tokens/s",
                "lmio ÷ this",
                "tokens/CPU-s",
                "lmio ÷ this",
                "first batch",
                "resume",
                "peak RSS",
            ],
            rows,
        )
    )
    first_1000 = _median(results["lmio-1000"], "first_batch_s") or 0.0
    print(f"\nlmio first batch on a 1,000-shard dataset: {format_duration(first_1000)}")
    print("\nbars:")
    for peer in ("streaming", "litdata", "hf"):
        if peer not in missing:
            ratio = lmio_rate / (_median(results[peer], "tokens_per_s") or 1.0)
            print(
                f"  >= 3x {LABELS[peer][0]:<22} {ratio:6.2f}x  {'ok' if ratio >= 3 else 'MISSED'}"
            )
    limit = lmio_rate / (_median(results["parquet"], "tokens_per_s") or 1.0)
    print(f"  >= 50% of read+decompress   {limit:6.0%}   {'ok' if limit >= 0.5 else 'MISSED'}")
    pages = lmio_rate / (_median(results["pages"], "tokens_per_s") or 1.0)
    (print(f"     (of zstd pages alone     {pages:6.0%})"),)
    print(f"  first batch, 1,000 shards < 1 s  {'ok' if first_1000 < 1 else 'MISSED'}")
    resume = _median(results["lmio"], "resume_s") or 0.0
    print(f"  resume < 1 s ({format_duration(resume)})  {'ok' if resume < 1 else 'MISSED'}")


if __name__ == "__main__":
    main()
