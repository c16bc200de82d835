"""The local executor: a pool of worker processes, one per core by default.

Workers are started with `spawn` (no state inherited by accident) when the run starts and
live until it ends; each receives the tokenizer once, by value. With one worker, tasks run
in this process.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, TypeVar

from lmio.errors import InvalidArgumentError, LmioError
from lmio.prepare._tokenizers import remember

if TYPE_CHECKING:
    from lmio.tokenizer import Tokenizer

__all__ = ["LocalExecutor", "WorkerDiedError"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


def _start_worker(tokenizer: Tokenizer, checksum: str) -> None:
    """A new worker: keep the tokenizer, and import what the tasks use now, while the parent
    is still listing the inputs (pyarrow's first array alone imports pandas: ~0.4 s)."""
    remember(tokenizer, checksum)
    import pyarrow as pa

    import lmio.prepare._shard_task
    import lmio.prepare._unit  # noqa: F401

    pa.array([0])


class WorkerDiedError(LmioError):
    """A worker process ended without finishing its task (killed, or out of memory)."""


class LocalExecutor:
    """Runs `fn(context, task)` for each task on `workers` processes; yields results as they come."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    @property
    def description(self) -> str:
        return f"local, {self.workers} worker{'s' if self.workers != 1 else ''}"

    def start(self, tokenizer: Tokenizer, checksum: str) -> None:
        """Start the worker processes now, each holding `tokenizer`, so that they are ready
        (interpreter, imports, tokenizer) by the time the first task comes."""
        if self.workers == 1:
            return
        main = getattr(sys.modules["__main__"], "__file__", None)
        if main is not None and not os.path.exists(main):
            raise InvalidArgumentError(
                f"worker processes start by importing the main program, {main}, which is not "
                "a file (a script read from stdin?): save it to a file, or pass workers=1"
            )
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(tokenizer, checksum),
        )
        for _ in range(self.workers):
            self._pool.submit(int)

    def map_unordered(
        self, fn: Callable[[Any, T], R], context: Any, tasks: Sequence[T]
    ) -> Iterator[tuple[T, R]]:
        if self.workers == 1 or len(tasks) <= 1:
            for task in tasks:
                yield task, fn(context, task)
            return
        pool = self._pool
        if pool is None:
            raise InvalidArgumentError("start the executor before giving it tasks")
        futures: dict[Future[R], T] = {}
        try:
            for task in tasks:
                futures[pool.submit(fn, context, task)] = task
            for future in as_completed(futures):
                yield futures[future], future.result()
        except BrokenProcessPool as exc:
            self.close()
            raise WorkerDiedError(
                "a worker process died (it was killed, or ran out of memory) before finishing "
                f"its work ({exc}); what finished is kept: rerun the same command to continue"
            ) from None
        except BaseException:
            for future in futures:
                future.cancel()
            raise

    def close(self) -> None:
        """Let the workers go without waiting for their interpreters to tear down (up to a
        second): they exit on their own. After an error, a task already running finishes in
        the background; its files are written atomically, so a rerun just finds them."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
