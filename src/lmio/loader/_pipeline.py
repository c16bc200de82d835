"""One consumer's batches, built on a background thread ahead of use.

The builder thread walks the consumer's batches in order. It plans a few batches ahead and asks
the reader threads for their row groups (so reads run ahead of consumption, up to `read_ahead`
row groups outstanding), builds each batch from the decoded row groups, and puts it in a
bounded queue of `prefetch` batches that the consumer takes from. Closing stops every thread
this pipeline started and waits for them.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from lmio.loader._packing import Packer
from lmio.loader._readers import LoaderClosedError, ReaderPool
from lmio.loader._source import TokenBlock

__all__ = ["BatchPipeline", "Job"]

Batch = dict[str, torch.Tensor]

# Batches planned ahead at most, whatever the read-ahead (planning is cheap, but not free).
_MAX_JOBS_AHEAD = 1024
_PUT_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Job:
    """One batch to build: sample b is sample index[b] of row group keys[which[b]]."""

    keys: list[int]  # the distinct row groups it reads
    which: np.ndarray
    index: np.ndarray
    extras: dict[str, np.ndarray]

    @classmethod
    def of(cls, keys: np.ndarray, index: np.ndarray, extras: dict[str, np.ndarray]) -> Job:
        """From each sample's row-group key."""
        distinct, which = np.unique(keys, return_inverse=True)
        return cls(distinct.tolist(), which, index, extras)


class _End:
    pass


@dataclass(frozen=True)
class _Failed:
    error: BaseException


class BatchPipeline:
    def __init__(
        self,
        jobs: Iterator[Job],
        *,
        pool: ReaderPool[int, TokenBlock],
        packer: Packer,
        prefetch: int,
        read_ahead: int,
        name: str = "lmio-loader",
    ) -> None:
        self._jobs = jobs
        self._pool = pool
        self._packer = packer
        self._read_ahead = read_ahead
        self._ready: queue.Queue[tuple[Batch, int] | _End | _Failed] = queue.Queue(prefetch)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._build, name=f"{name}-batches", daemon=True)
        self._thread.start()

    def next(self) -> tuple[Batch, int]:
        """The next batch and its target-token count; StopIteration at the end."""
        if self._closed.is_set():
            raise StopIteration
        item = self._ready.get()
        if isinstance(item, _End):
            raise StopIteration
        if isinstance(item, _Failed):
            raise item.error
        return item

    def close(self) -> None:
        self._closed.set()
        self._pool.close()
        if self._thread is not threading.current_thread():
            self._thread.join()
        while not self._ready.empty():
            self._ready.get_nowait()

    def _build(self) -> None:
        try:
            ahead: deque[Job] = deque()
            planned_all = False
            while True:
                while (
                    not planned_all
                    and len(ahead) < _MAX_JOBS_AHEAD
                    and (not ahead or self._pool.outstanding < self._read_ahead)
                ):
                    job = next(self._jobs, None)
                    if job is None:
                        planned_all = True
                        break
                    ahead.append(job)
                    for key in job.keys:
                        self._pool.prefetch(key)
                if not ahead:
                    break
                job = ahead.popleft()
                blocks = [self._pool.get(key) for key in job.keys]
                batch, tokens = self._packer.build(blocks, job.which, job.index)
                for name, values in job.extras.items():
                    batch[name] = torch.from_numpy(values)
                self._put((batch, tokens))
            self._put(_End())
        except LoaderClosedError:
            return
        except BaseException as exc:
            self._put(_Failed(exc))

    def _put(self, item: tuple[Batch, int] | _End | _Failed) -> None:
        while not self._closed.is_set():
            try:
                self._ready.put(item, timeout=_PUT_POLL_SECONDS)
                return
            except queue.Full:
                continue
