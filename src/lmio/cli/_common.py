"""Options that several commands share."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lmio.store import DiskCache


def size(text: str) -> int:
    """An argparse type: `512MB`, `20GiB`, or a byte count."""
    from lmio._units import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def add_disk_cache_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--disk-cache",
        metavar="DIR",
        help="keep verified local copies of remote shards here (shared by processes)",
    )
    parser.add_argument(
        "--disk-cache-size",
        type=size,
        default="20GB",
        metavar="SIZE",
        help="byte limit of --disk-cache, least recently used evicted first (default: 20GB)",
    )


def disk_cache(args: argparse.Namespace) -> DiskCache | None:
    if args.disk_cache is None:
        return None
    from lmio.store import DiskCache

    return DiskCache(args.disk_cache, max_bytes=args.disk_cache_size)
