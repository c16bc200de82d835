"""Reader threads: row groups decoded ahead of use, into a shared LRU cache.

Keys are requested in first-use order through one thread-safe queue that every reader thread
takes from, so a thread that finishes a small row group takes the next one and uneven shards
balance themselves. Each request gets a slot that holds its result until the batch builder
takes it, so a prefetched row group cannot be evicted before its first use; the number of
slots outstanding is what bounds the read-ahead.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from lmio.loader._cache import LruCache, Sized
from lmio.loader._metrics import MetricsRecorder

__all__ = ["LoaderClosedError", "ReaderPool"]

logger = logging.getLogger(__name__)

K = TypeVar("K")
V = TypeVar("V", bound=Sized)


class LoaderClosedError(Exception):
    """Raised inside the loader's own threads when its iterator was closed; never escapes."""


class _Slot(Generic[V]):
    __slots__ = ("done", "error", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: V | None = None
        self.error: BaseException | None = None


class ReaderPool(Generic[K, V]):
    """`threads` daemon threads, each with its own reader from `make_reader` (open files are
    per thread); results go to `cache` and to the slot of the request."""

    def __init__(
        self,
        make_reader: Callable[[], Callable[[K], V]],
        *,
        threads: int,
        cache: LruCache[K, V],
        metrics: MetricsRecorder,
        name: str = "lmio-loader",
    ) -> None:
        self._cache = cache
        self._metrics = metrics
        self._tasks: queue.SimpleQueue[K | None] = queue.SimpleQueue()
        self._slots: dict[K, _Slot[V]] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._threads = [
            threading.Thread(
                target=self._work, args=(make_reader,), name=f"{name}-reader-{i}", daemon=True
            )
            for i in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def outstanding(self) -> int:
        """Requests submitted whose result has not been taken yet."""
        return len(self._slots)

    def prefetch(self, key: K) -> None:
        """Start reading `key` unless it is cached or already requested."""
        with self._lock:
            if key not in self._slots and self._cache.get(key) is None:
                self._submit(key)

    def get(self, key: K) -> V:
        """The decoded row group: from its request, the cache, or a read now (waiting)."""
        self._metrics.lookups(1)
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                cached = self._cache.get(key)
                if cached is not None:
                    return cached
                slot = self._submit(key)
        slot.done.wait()
        with self._lock:
            if self._slots.get(key) is slot:
                del self._slots[key]
        if slot.error is not None:
            raise slot.error
        assert slot.value is not None  # set together with done when there is no error
        return slot.value

    def close(self) -> None:
        """Stop the threads (each finishes the read in hand) and fail what is still waiting."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for slot in self._slots.values():
                slot.error = LoaderClosedError()
                slot.done.set()
            self._slots.clear()
        for _ in self._threads:
            self._tasks.put(None)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join()

    def _submit(self, key: K) -> _Slot[V]:
        if self._closed:
            raise LoaderClosedError()
        slot: _Slot[V] = _Slot()
        self._slots[key] = slot
        self._tasks.put(key)
        return slot

    def _work(self, make_reader: Callable[[], Callable[[K], V]]) -> None:
        read: Callable[[K], V] | None = None
        while (key := self._tasks.get()) is not None:
            with self._lock:
                slot = self._slots.get(key)
            if slot is None or self._closed:
                continue
            try:
                if read is None:
                    read = make_reader()
                value = read(key)
            except BaseException as exc:
                slot.error = exc
            else:
                self._cache.put(key, value)
                self._metrics.row_group_read(value.nbytes)
                slot.value = value
            slot.done.set()
