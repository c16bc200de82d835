"""`lmio bench loader DATASET`: how fast the TokenLoader feeds batches from a dataset."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from lmio.cli._common import add_disk_cache_arguments, disk_cache, size
from lmio.cli._quickstart import positive_int

if TYPE_CHECKING:
    from lmio.loader import LoaderMetrics


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("bench", help="measure how fast lmio's parts run here")
    commands = parser.add_subparsers(title="bench commands", metavar="COMMAND", required=True)
    loader = commands.add_parser(
        "loader",
        help="batches/s, tokens/s, waits and cache hits of the TokenLoader on a dataset",
        description="Read batches from DATASET (a folder or URL written by lmio prepare) with "
        "the TokenLoader and print what it delivered: tokens/s, time to the first batch, "
        "time the consumer waited, row groups read and the cache hit rate.",
    )
    loader.add_argument("dataset", metavar="DATASET", help="dataset folder or URL")
    add_disk_cache_arguments(loader)
    loader.add_argument(
        "--batch-size", type=positive_int, default=32, help="samples per batch (default: 32)"
    )
    loader.add_argument(
        "--seq-len", type=positive_int, default=2048, help="tokens per sample (default: 2048)"
    )
    loader.add_argument(
        "--threads",
        type=positive_int,
        help="reader threads (default: one per usable core, at most 4)",
    )
    loader.add_argument(
        "--batches", type=positive_int, help="stop after this many (default: one epoch)"
    )
    loader.add_argument(
        "--workers", type=int, default=0, help="DataLoader worker processes (default: 0)"
    )
    loader.add_argument(
        "--packing", choices=("concat", "pad"), default="concat", help="(default: concat)"
    )
    loader.add_argument(
        "--cache", type=size, default=1 << 30, help="row-group cache size (default: 1GiB)"
    )
    loader.add_argument("--seed", type=int, default=0, help="shuffle seed (default: 0)")
    loader.add_argument("--no-shuffle", action="store_true", help="read in manifest order")
    loader.add_argument("--no-verify", action="store_true", help="skip checking shard checksums")
    loader.set_defaults(handler=_loader)


def _loader(args: argparse.Namespace) -> int:
    from lmio._table import format_table
    from lmio.loader import TokenLoader

    started = time.perf_counter()
    loader = TokenLoader(
        args.dataset,
        batch_size=args.batch_size,
        seq_len=args.seq_len,
        shuffle=not args.no_shuffle,
        seed=args.seed,
        num_threads=args.threads,
        num_workers=args.workers,
        packing=args.packing,
        cache_bytes=args.cache,
        verify=not args.no_verify,
        rank=0,
        world_size=1,
        disk_cache=disk_cache(args),
    )
    opened = time.perf_counter() - started
    for taken, _ in enumerate(loader, start=1):
        if taken == args.batches:
            break
    print(format_table(["", "value"], _rows(loader.metrics(), opened)))
    return 0


def _rows(metrics: LoaderMetrics, opened: float) -> list[tuple[str, str]]:
    from lmio._units import format_bytes, format_count, format_duration

    hit_rate = metrics.cache_hit_rate
    first = metrics.first_batch_seconds
    return [
        ("batches", format_count(metrics.batches)),
        ("tokens", format_count(metrics.tokens)),
        ("tokens/s", format_count(metrics.tokens_per_second)),
        ("open dataset", format_duration(opened)),
        ("first batch", "-" if first is None else format_duration(first)),
        ("time", format_duration(metrics.seconds)),
        (
            "waited for data",
            f"{format_duration(metrics.wait_seconds)} ({metrics.wait_fraction:.0%})",
        ),
        ("row groups read", format_count(metrics.row_groups_read)),
        ("bytes decoded", format_bytes(metrics.bytes_read)),
        ("cache hit rate", "-" if hit_rate is None else f"{hit_rate:.1%}"),
    ]
