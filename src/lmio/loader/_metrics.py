"""What the loader did: tokens delivered, time the consumer waited, how well the cache served."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

__all__ = ["LoaderMetrics", "MetricsRecorder"]


@dataclass(frozen=True)
class LoaderMetrics:
    """A snapshot of one loader's counters since it was built (or `reset_metrics`).

    `tokens` counts the target tokens handed to the consumer (labels other than -100).
    `wait_seconds` is the time the consumer spent blocked waiting for a batch: zero means
    training never waited for data. `seconds` runs from the first batch requested to the
    last one delivered. Row-group counters come from the reader threads of this process;
    with DataLoader worker processes they stay at zero (each worker has its own cache).
    """

    batches: int
    tokens: int
    seconds: float
    wait_seconds: float
    first_batch_seconds: float | None
    row_group_lookups: int
    row_groups_read: int
    bytes_read: int

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0

    @property
    def wait_fraction(self) -> float:
        """Share of the consumer's time spent waiting for data."""
        return self.wait_seconds / self.seconds if self.seconds > 0 else 0.0

    @property
    def cache_hit_rate(self) -> float | None:
        """Share of row-group lookups served from memory without a read of their own
        (prefetched row groups count as hits); None before any lookup."""
        if self.row_group_lookups == 0:
            return None
        return 1.0 - min(self.row_groups_read, self.row_group_lookups) / self.row_group_lookups


class MetricsRecorder:
    """Counters updated from the consumer and the reader threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._batches = 0
            self._tokens = 0
            self._wait = 0.0
            self._started: float | None = None
            self._last: float | None = None
            self._first_batch: float | None = None
            self._lookups = 0
            self._reads = 0
            self._bytes = 0

    def batch_requested(self) -> float:
        now = time.perf_counter()
        with self._lock:
            if self._started is None:
                self._started = now
        return now

    def batch_delivered(self, requested_at: float, tokens: int) -> None:
        now = time.perf_counter()
        with self._lock:
            self._batches += 1
            self._tokens += tokens
            self._wait += now - requested_at
            self._last = now
            if self._first_batch is None and self._started is not None:
                self._first_batch = now - self._started

    def lookups(self, n: int) -> None:
        with self._lock:
            self._lookups += n

    def row_group_read(self, nbytes: int) -> None:
        with self._lock:
            self._reads += 1
            self._bytes += nbytes

    def snapshot(self) -> LoaderMetrics:
        with self._lock:
            elapsed = (
                self._last - self._started
                if self._started is not None and self._last is not None
                else 0.0
            )
            return LoaderMetrics(
                batches=self._batches,
                tokens=self._tokens,
                seconds=elapsed,
                wait_seconds=self._wait,
                first_batch_seconds=self._first_batch,
                row_group_lookups=self._lookups,
                row_groups_read=self._reads,
                bytes_read=self._bytes,
            )
