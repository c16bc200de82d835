"""Storage benchmark: loaders reading the same tokens from an S3-compatible server on loopback.

moto's standalone server runs in its own process on 127.0.0.1. The tokens are those of
benchmarks/loader.py (../shared/corpora through `lmio prepare`, repeated), in each loader's own
format, uploaded to the server once per run:

  raw GET x C     boto3, the lmio shards in 16 MiB ranged GETs, C in flight: the ceiling
  raw s3fs x 8    the same GETs through s3fs (the client lmio uses), 8 in flight
  lmio fill       lmio's download path alone: every shard into an empty DiskCache, 8 at a
                  time, each verified against the manifest's sha256
  lmio cold       TokenLoader(open_dataset(s3://..., cache=DiskCache(empty))), a whole epoch
                  (these shards are small, so they are cached whole, by default)
  lmio ranges     the same with by_range=True: each row group's byte range (the manifest
                  records it) cached on its own, in the loader's order, verified by its own
                  sha256, as shards of 64 MiB and more are by default
  lmio warm       the same with the disk cache filled
  lmio local      TokenLoader over the same shards on local disk (page cache)
  lmio direct     TokenLoader over s3:// without a disk cache (ranged reads of row groups)
  streaming cold  mosaicml-streaming StreamingDataset(remote=s3://..., local=empty) + DataLoader
  litdata cold    litdata StreamingDataset(s3://..., cache_dir=empty) + StreamingDataLoader
  link-*          raw GET x 8 and lmio cold again, through a proxy that shapes the loopback
                  to --link MB/s (a network slower than two cores can decode, as real links
                  are per core)
  faults          lmio cold through a proxy that resets, stalls and answers 503 SlowDown, until
                  >= 100 faults; each epoch's sample ids against the fault-free order

Each measurement runs in a fresh process (the peers in .venv-bench), in turn, --runs times;
the table shows medians. MB/s counts the bytes of the lmio shards (what the raw GETs fetch);
tokens/s the tokens delivered in batches of [B, T]; first batch the time from the start to the
first batch.

    make bench-env                                   # the peers (numpy pins keep them apart)
    .venv/bin/python benchmarks/storage.py [--runs 3] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
BUCKET = "bench"
PART = 16 << 20
MEASURES = (
    "raw-8",
    "raw-32",
    "raw-s3fs-8",
    "lmio-fill",
    "lmio-cold",
    "lmio-ranges",
    "lmio-warm",
    "lmio-local",
    "lmio-direct",
    "streaming-cold",
    "litdata-cold",
    "link-raw-8",
    "link-lmio-cold",
    "link-lmio-ranges",
    "link-lmio-direct",
)
PEER_MEASURES = ("streaming-cold", "litdata-cold")
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
}


# ----- the server and the data -------------------------------------------------------------


class Server:
    """moto's standalone server in a child process, on a free loopback port."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    raise SystemExit("error: moto's server did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait()


def client(endpoint: str, *, pool: int = 10) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        region_name="us-east-1",
        config=Config(max_pool_connections=pool),
    )


def ensure_data(work: Path, repeat: int, seq_len: int) -> Path:
    """benchmarks/loader.py's formats of the same tokens, built there when missing."""
    data = work / f"x{repeat}-t{seq_len}"
    if all((data / name).exists() for name in ("lmio", "mds", "litdata")):
        return data
    if not BENCH_PYTHON.exists():
        raise SystemExit("error: the peers are not installed: run `make bench-env` first")
    print(f"building {data} with benchmarks/loader.py's writers ...", flush=True)
    code = (
        "import sys; sys.path.insert(0, 'benchmarks'); import loader; "
        f"loader.build({str(data)!r}, peers=['lmio', 'streaming', 'litdata'], "
        f"repeat={repeat}, seq_len={seq_len}, workers=2)"
    )
    subprocess.run([str(BENCH_PYTHON), "-c", code], cwd=ROOT, check=True)
    return data


def upload(endpoint: str, data: Path) -> None:
    s3 = client(endpoint, pool=16)
    s3.create_bucket(Bucket=BUCKET)
    files = [
        (path, f"{name}/{path.relative_to(data / name)}")
        for name in ("lmio", "mds", "litdata")
        for path in sorted((data / name).rglob("*"))
        if path.is_file()
    ]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda item: s3.upload_file(str(item[0]), BUCKET, item[1]), files))


# ----- one measurement, in its own process -------------------------------------------------


def measure(name: str, args: argparse.Namespace) -> dict[str, Any]:
    if name.startswith("link-"):  # the same, through the bandwidth-shaped proxy
        args.endpoint = args.link_endpoint
        name = name[len("link-") :]
    if name == "raw-s3fs-8":
        return _raw_s3fs(args, 8)
    if name.startswith("raw-"):
        return _raw_get(args, int(name.split("-")[1]))
    if name == "streaming-cold":
        return _streaming(args)
    if name == "litdata-cold":
        return _litdata(args)
    if name == "faults":
        return _faults(args)
    return _lmio(name, args)


def _shard_ranges(args: argparse.Namespace) -> list[tuple[str, int, int]]:
    manifest = json.loads((Path(args.data) / "lmio" / "manifest.json").read_text())
    return [
        (f"lmio/{shard['path']}", start, min(start + PART, shard["bytes"]))
        for shard in manifest["shards"]
        for start in range(0, shard["bytes"], PART)
    ]


def _raw_get(args: argparse.Namespace, concurrency: int) -> dict[str, Any]:
    s3 = client(args.endpoint, pool=concurrency)
    ranges = _shard_ranges(args)

    def get(item: tuple[str, int, int]) -> int:
        key, start, end = item
        body = s3.get_object(Bucket=BUCKET, Key=key, Range=f"bytes={start}-{end - 1}")["Body"]
        return len(body.read())

    get(ranges[0])  # the connection pool and credentials, outside the timing
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        size = sum(pool.map(get, ranges))
    return {"bytes": size, "seconds": time.perf_counter() - started}


def _raw_s3fs(args: argparse.Namespace, concurrency: int) -> dict[str, Any]:
    import s3fs

    fs = s3fs.S3FileSystem(endpoint_url=args.endpoint)
    ranges = [(f"{BUCKET}/{key}", start, end) for key, start, end in _shard_ranges(args)]

    def get(item: tuple[str, int, int]) -> int:
        return len(fs.cat_file(item[0], start=item[1], end=item[2]))

    get(ranges[0])
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        size = sum(pool.map(get, ranges))
    return {"bytes": size, "seconds": time.perf_counter() - started}


def _storage_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"endpoint_url": args.endpoint, "max_concurrency": 8}


def _epoch(loader: Any, first: list[float] | None = None) -> tuple[int, list[int]]:
    """Tokens and sample ids of one epoch; `first` gets the time its first batch came."""
    tokens, ids = 0, []
    for batch in loader:
        if first is not None and not first:
            first.append(time.perf_counter())
        tokens += batch["input_ids"].numel()
        if "sample_id" in batch:
            ids.extend(batch["sample_id"].tolist())
    return tokens, ids


def _lmio(name: str, args: argparse.Namespace) -> dict[str, Any]:
    from lmio.loader import TokenLoader
    from lmio.store import DiskCache, exists, open_dataset

    url = f"s3://{BUCKET}/lmio"
    options = _storage_options(args)
    cache_dir = Path(args.scratch) / "lmio-cache"
    shards = sum(s["bytes"] for s in _manifest(args)["shards"])

    def loader(dataset: Any) -> Any:
        return TokenLoader(
            dataset, batch_size=args.batch_size, seq_len=args.seq_len, num_threads=args.threads
        )

    # Outside the timing, as for the raw GETs: imports, threads and the S3 client.
    next(iter(loader(Path(args.data) / "lmio")))
    exists(f"{url}/manifest.json", storage_options=options)
    if name == "lmio-warm":
        cache = DiskCache(cache_dir, max_bytes="20GB")
        _epoch(loader(open_dataset(url, storage_options=options, cache=cache)))  # fill it
    elif name in ("lmio-cold", "lmio-ranges", "lmio-fill"):
        shutil.rmtree(cache_dir, ignore_errors=True)
    started = time.perf_counter()
    if name == "lmio-fill":
        cache = DiskCache(cache_dir, max_bytes="20GB", prefetch_threads=8)
        opened = open_dataset(url, storage_options=options)
        pending = [
            cache.prefetch(s.url, checksum=s.checksum, size=s.bytes, storage_options=options)
            for s in opened.shards
        ]
        if not all(future.result() for future in pending):
            raise SystemExit("error: the cache fill skipped a shard")
        return {"bytes": shards, "seconds": time.perf_counter() - started}
    if name in ("lmio-cold", "lmio-warm", "lmio-ranges"):
        cache = DiskCache(cache_dir, max_bytes="20GB")
        dataset: Any = open_dataset(
            url, storage_options=options, cache=cache, by_range=name == "lmio-ranges" or None
        )
    elif name == "lmio-direct":
        dataset = open_dataset(url, storage_options=options)
    else:
        dataset = Path(args.data) / "lmio"
    first: list[float] = []
    tokens, _ = _epoch(loader(dataset), first)
    return {
        "bytes": shards,
        "tokens": tokens,
        "seconds": time.perf_counter() - started,
        "first": first[0] - started,
    }


def _manifest(args: argparse.Namespace) -> dict[str, Any]:
    return dict(json.loads((Path(args.data) / "lmio" / "manifest.json").read_text()))


def _collate(samples: list[Any]) -> dict[str, Any]:
    import numpy as np
    import torch

    tokens = torch.from_numpy(np.stack(samples).astype(np.int64))
    return {"input_ids": tokens[:, :-1], "labels": tokens[:, 1:]}


def _streaming(args: argparse.Namespace) -> dict[str, Any]:
    os.environ["S3_ENDPOINT_URL"] = args.endpoint
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from loader import _stub_streaming_vision

    _stub_streaming_vision()
    from streaming import StreamingDataset
    from streaming.base.util import clean_stale_shared_memory
    from torch.utils.data import DataLoader

    class Tokens(StreamingDataset):  # type: ignore[misc]
        def __getitem__(self, index: int) -> Any:
            return super().__getitem__(index)["tokens"]

    local = Path(args.scratch) / "streaming-cache"
    shutil.rmtree(local, ignore_errors=True)
    clean_stale_shared_memory()
    started = time.perf_counter()
    dataset = Tokens(
        remote=f"s3://{BUCKET}/mds", local=str(local), shuffle=True, batch_size=args.batch_size
    )
    batches = DataLoader(
        dataset,
        batch_size=args.batch_size,
        num_workers=args.workers,
        collate_fn=_collate,
        drop_last=True,
    )
    tokens, _ = _epoch(batches)
    return {"tokens": tokens, "seconds": time.perf_counter() - started}


def _litdata(args: argparse.Namespace) -> dict[str, Any]:
    os.environ["DISABLE_S5CMD"] = "1"
    from litdata import StreamingDataLoader, StreamingDataset, TokensLoader
    from litdata.streaming import downloader

    # litdata's fast path (obstore) refuses a plain-http endpoint unless told it may use one;
    # the DataLoader's forked workers inherit this.
    downloader._OBSTORE_CLIENT_OPTIONS["allow_http"] = True

    cache = Path(args.scratch) / "litdata-cache"
    shutil.rmtree(cache, ignore_errors=True)
    started = time.perf_counter()
    dataset = StreamingDataset(
        f"s3://{BUCKET}/litdata",
        item_loader=TokensLoader(block_size=args.seq_len + 1),
        shuffle=True,
        drop_last=True,
        seed=0,
        cache_dir=str(cache),
        storage_options={"endpoint_url": args.endpoint},
    )

    def collate(samples: list[Any]) -> dict[str, Any]:
        import torch

        tokens = torch.stack(samples).long()
        return {"input_ids": tokens[:, :-1], "labels": tokens[:, 1:]}

    batches = StreamingDataLoader(
        dataset, batch_size=args.batch_size, num_workers=args.workers, collate_fn=collate
    )
    tokens, _ = _epoch(batches)
    return {"tokens": tokens, "seconds": time.perf_counter() - started}


def _faults(args: argparse.Namespace) -> dict[str, Any]:
    """Cold epochs through the fault proxy until >= args.faults faults; each epoch's sample ids
    are compared with the fault-free order of the same loader over local disk."""
    sys.path.insert(0, str(ROOT / "tests" / "storage"))
    from _faults import FaultPlan, FaultProxy

    from lmio.loader import TokenLoader
    from lmio.store import DiskCache, open_dataset

    def loader(dataset: Any) -> Any:
        return TokenLoader(
            dataset,
            batch_size=args.batch_size,
            seq_len=args.seq_len,
            num_threads=args.threads,
            sample_ids=True,
        )

    _, expected = _epoch(loader(Path(args.data) / "lmio"))
    proxy = FaultProxy(int(args.endpoint.rsplit(":", 1)[1]), stall_seconds=3.0)
    kinds = ["reset", "reset_mid", "slowdown", "error500"] * 4 + ["stall"]
    proxy.plan = FaultPlan(rate=0.3, kinds=kinds, seed=1)
    options = {
        "endpoint_url": proxy.endpoint,
        "part_size": "5MiB",
        "read_timeout": 1.0,
        "retries": 20,
        "retry_base_delay": 0.02,
        "retry_max_delay": 0.5,
    }
    epochs = lost = duplicated = reordered = 0
    started = time.perf_counter()
    while proxy.plan.total < args.faults:
        cache_dir = Path(args.scratch) / "fault-cache"
        shutil.rmtree(cache_dir, ignore_errors=True)
        cache = DiskCache(cache_dir, max_bytes="20GB")
        dataset = open_dataset(f"s3://{BUCKET}/lmio", storage_options=options, cache=cache)
        _, ids = _epoch(loader(dataset))
        lost += len(set(expected) - set(ids))
        duplicated += len(ids) - len(set(ids))
        reordered += ids != expected
        epochs += 1
    proxy.stop()
    return {
        "faults": proxy.plan.total,
        "by_kind": dict(proxy.plan.injected),
        "requests": proxy.plan.requests,
        "epochs": epochs,
        "samples": len(expected) * epochs,
        "lost": lost,
        "duplicated": duplicated,
        "reordered": reordered,
        "seconds": time.perf_counter() - started,
    }


# ----- the run -----------------------------------------------------------------------------


def run_child(name: str, args: argparse.Namespace) -> dict[str, Any]:
    python = BENCH_PYTHON if name in PEER_MEASURES else Path(sys.executable)
    command = [str(python), __file__, "--measure", name]
    for option in (
        "endpoint",
        "link_endpoint",
        "data",
        "scratch",
        "batch_size",
        "seq_len",
        "threads",
        "workers",
    ):
        command += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
    command += ["--faults", str(args.faults)]
    env = {**os.environ, **CREDENTIALS, "AWS_ENDPOINT_URL": args.endpoint}
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return dict(json.loads(lines[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=ROOT / ".bench" / "loader")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5, help="copies of the corpus's tokens")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=4, help="lmio reader threads")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers of the peers")
    parser.add_argument("--faults", type=int, default=100, help="faults to inject, at least")
    parser.add_argument(
        "--link", type=float, default=100.0, help="MB/s of the shaped link (default: 100)"
    )
    parser.add_argument("--quick", action="store_true", help="1 copy, 1 run: a smoke test")
    parser.add_argument("--only", help="comma-separated measurements (default: all)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--scratch", help=argparse.SUPPRESS)
    parser.add_argument("--link-endpoint", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args)))
        return
    if args.quick:
        args.runs, args.repeat = 1, 1
    data = ensure_data(args.work, args.repeat, args.seq_len)
    args.data = str(data)
    args.scratch = str(ROOT / ".bench" / "storage")
    Path(args.scratch).mkdir(parents=True, exist_ok=True)
    server = Server()
    args.endpoint = server.endpoint
    link = _shaped_link(server.port, args.link * 1e6)
    args.link_endpoint = link.endpoint
    try:
        started = time.perf_counter()
        upload(server.endpoint, data)
        print(f"uploaded {data.name} to {server.endpoint} in {time.perf_counter() - started:.1f} s")
        measures = [m for m in MEASURES if m not in PEER_MEASURES or BENCH_PYTHON.exists()]
        if args.only:
            measures = [m for m in measures if m in args.only.split(",")]
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in measures}
        for run in range(args.runs):
            for name in measures:
                results[name].append(run_child(name, args))
            print(f"  run {run + 1}/{args.runs} done", flush=True)
        faults = run_child("faults", args) if not args.only or "faults" in args.only else None
    finally:
        link.stop()
        server.stop()
    report(results, faults, args)


def _shaped_link(port: int, bytes_per_second: float) -> Any:
    """The tests' proxy, pacing response bodies, in this process (idle while the children
    measure)."""
    sys.path.insert(0, str(ROOT / "tests" / "storage"))
    from _faults import FaultProxy

    return FaultProxy(port, bandwidth=bytes_per_second)


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def report(
    results: dict[str, list[dict[str, Any]]],
    faults: dict[str, Any] | None,
    args: argparse.Namespace,
) -> None:
    from lmio._table import format_table
    from lmio._units import format_count, format_duration

    mb_s: dict[str, float] = {}
    tokens_s: dict[str, float] = {}
    rows = []
    for name, runs in results.items():
        seconds = _median(runs, "seconds")
        if runs[0].get("bytes"):
            mb_s[name] = runs[0]["bytes"] / seconds / 1e6
        if runs[0].get("tokens"):
            tokens_s[name] = runs[0]["tokens"] / seconds
        rows.append(
            [
                name,
                format_duration(seconds),
                f"{mb_s[name]:.0f} MB/s" if name in mb_s and name != "lmio-local" else "",
                format_count(tokens_s[name]) if name in tokens_s else "",
                format_duration(_median(runs, "first")) if "first" in runs[0] else "",
            ]
        )
    print(
        f"\nB={args.batch_size} T={args.seq_len}, one epoch each, median of {args.runs}; lmio "
        f"with {args.threads} reader threads and max_concurrency=8, peers with {args.workers} "
        f"DataLoader workers; {os.cpu_count()} cores"
    )
    print(format_table(["reader", "time", "shard MB/s", "tokens/s", "first batch"], rows))
    print("\nbars:")
    raw = max(mb_s.get("raw-8", 0.0), mb_s.get("raw-32", 0.0))
    if raw and "lmio-cold" in mb_s:
        ratio = mb_s["lmio-cold"] / raw
        print(f"  cold >= 80% of raw parallel GET        {ratio:6.0%}  {_verdict(ratio >= 0.8)}")
    if "lmio-cold" in tokens_s and "lmio-local" in tokens_s:
        ratio = tokens_s["lmio-cold"] / tokens_s["lmio-local"]
        print(f"    (cold / local-disk loader            {ratio:6.0%})")
    for baseline in ("raw-8", "raw-s3fs-8"):
        if baseline in mb_s and "lmio-fill" in mb_s:
            ratio = mb_s["lmio-fill"] / mb_s[baseline]
            print(f"    (lmio's download path / {baseline:<11}  {ratio:6.0%})")
    if "lmio-warm" in tokens_s and "lmio-local" in tokens_s:
        ratio = tokens_s["lmio-warm"] / tokens_s["lmio-local"]
        print(f"  warm >= 90% of the local-disk loader   {ratio:6.0%}  {_verdict(ratio >= 0.9)}")
    for cold in ("link-lmio-cold", "link-lmio-ranges"):
        if "link-raw-8" in mb_s and cold in mb_s:
            ratio = mb_s[cold] / mb_s["link-raw-8"]
            print(
                f"  {cold[5:]} >= 80% of raw GET on a {args.link:.0f} MB/s link {ratio:6.0%}  "
                f"{_verdict(ratio >= 0.8)}"
            )
    for peer in PEER_MEASURES:
        if peer in tokens_s and "lmio-cold" in tokens_s:
            times = tokens_s["lmio-cold"] / tokens_s[peer]
            print(f"  lmio cold >= 2x {peer:<22} {times:6.2f}x  {_verdict(times >= 2)}")
    if faults is not None:
        clean = (
            faults["lost"] == faults["duplicated"] == faults["reordered"] == 0
            and faults["faults"] >= args.faults
        )
        print(
            f"  0 lost or duplicated across {faults['faults']} faults: lost {faults['lost']}, "
            f"duplicated {faults['duplicated']}, epochs in another order {faults['reordered']}  "
            f"{_verdict(clean)}\n    ({faults['epochs']} cold epochs through the proxy in "
            f"{format_duration(faults['seconds'])}, {format_count(faults['samples'])} samples, "
            f"{faults['requests']} requests; {faults['by_kind']})"
        )


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


if __name__ == "__main__":
    main()
