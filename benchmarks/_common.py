"""Helpers shared by the benchmark scripts: corpora, timing, peak memory, tables."""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from lmio._table import format_table

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"

__all__ = [
    "CORPORA",
    "ROOT",
    "format_table",
    "load_jsonl",
    "median_seconds",
    "need_corpora",
    "peak_rss_mb",
]


def need_corpora() -> Path:
    """../shared/corpora, or exit with a clear message (benchmarks need real text)."""
    if not CORPORA.is_dir():
        print(
            f"skipped: {CORPORA} is not present; benchmarks run on the shared corpora",
            file=sys.stderr,
        )
        sys.exit(0)
    return CORPORA


def load_jsonl(path: Path, *, max_bytes: int | None = None) -> list[str]:
    texts: list[str] = []
    size = 0
    with path.open(encoding="utf-8") as f:
        for line in f:
            text = json.loads(line)["text"]
            texts.append(text)
            size += len(text.encode())
            if max_bytes is not None and size >= max_bytes:
                break
    return texts


def median_seconds(fn: Callable[[], object], *, repeat: int = 5, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_rss_mb() -> float:
    """Peak resident set of this process, in MB (Linux reports ru_maxrss in kB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_count() -> int:
    return len(os.sched_getaffinity(0))
