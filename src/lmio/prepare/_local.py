"""The local executors: a pool of worker processes, or of threads, one per core by default.

Processes are started with `spawn` (no state inherited by accident) when the run starts and
live until it ends; each receives the tokenizer once, by value. Threads serve runs whose
units all take the native path: its work (reading, cleaning, hashing, tokenizing) runs in C
without the GIL, so threads share the cores as well as processes do, with nothing to start
or copy. With one worker, tasks run in this process.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import (
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    as_completed,
)
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, TypeVar

from lmio.errors import InvalidArgumentError, LmioError
from lmio.prepare._tokenizers import TokenizerSource, remember

if TYPE_CHECKING:
    from lmio.tokenizer import Tokenizer

__all__ = ["LocalExecutor", "ThreadExecutor", "WorkerDiedError"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


def _start_worker(tokenizer: Tokenizer, checksum: str) -> None:
    """A new worker: keep the tokenizer, and import what the tasks use now, while the parent
    is still setting up."""
    remember(tokenizer, checksum)
    import lmio.prepare._shard_task
    import lmio.prepare._unit  # noqa: F401


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

    def start(self, source: TokenizerSource) -> None:
        """Start the worker processes now, each holding the tokenizer, so that they are ready
        (interpreter, imports, tokenizer) by the time the first task comes."""
        if self.workers == 1:
            return
        tokenizer, checksum = source.get(), source.checksum
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
        try:
            yield from _map_unordered(self._started(), fn, context, tasks)
        except BrokenProcessPool as exc:
            self.close()
            raise _died(exc) from None

    def submit(self, fn: Callable[[Any, T], R], context: Any, task: T) -> Future[R]:
        """`fn(context, task)` on a worker (in this process with one worker, done at once)."""
        if self.workers == 1:
            return _done(fn, context, task)
        try:
            return self._started().submit(fn, context, task)
        except BrokenProcessPool as exc:
            self.close()
            raise _died(exc) from None

    def result(self, future: Future[R]) -> R:
        """The result of a future from `submit`."""
        try:
            return future.result()
        except BrokenProcessPool as exc:
            self.close()
            raise _died(exc) from None

    def _started(self) -> Executor:
        if self._pool is None:
            raise InvalidArgumentError("start the executor before giving it tasks")
        return self._pool

    def close(self, *, wait: bool = False) -> None:
        """Let the workers go without waiting for their interpreters to tear down (up to a
        second): they exit on their own. After an error, a task already running finishes in
        the background (unless `wait`); its files are written atomically, so a rerun just
        finds them."""
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ThreadExecutor:
    """Runs `fn(context, task)` for each task on `workers` threads of this process; yields
    results as they come. For native-path units only: Python-heavy tasks would share the GIL."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ThreadPoolExecutor | None = None

    @property
    def description(self) -> str:
        return f"local, {self.workers} worker threads" if self.workers > 1 else "local, 1 worker"

    def start(self, source: TokenizerSource) -> None:
        """Threads share this process's tokenizer (the run remembers it). They are started
        now, before the tokenizer's background load holds the GIL: a thread's start waits
        for the GIL, and would delay the first units."""
        if self.workers > 1:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="lmio-prepare")
            started = threading.Barrier(self.workers)
            for _ in range(self.workers):  # each task holds its thread until all have one
                self._pool.submit(started.wait, timeout=10)

    def map_unordered(
        self, fn: Callable[[Any, T], R], context: Any, tasks: Sequence[T]
    ) -> Iterator[tuple[T, R]]:
        if self._pool is None or len(tasks) <= 1:
            for task in tasks:
                yield task, fn(context, task)
            return
        yield from _map_unordered(self._pool, fn, context, tasks)

    def submit(self, fn: Callable[[Any, T], R], context: Any, task: T) -> Future[R]:
        if self._pool is None:
            return _done(fn, context, task)
        return self._pool.submit(fn, context, task)

    def result(self, future: Future[R]) -> R:
        return future.result()

    def close(self, *, wait: bool = False) -> None:
        """Let the threads go; a task already running finishes in the background (unless
        `wait`; its files are written atomically, so a rerun just finds them)."""
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> ThreadExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _map_unordered(
    pool: Executor, fn: Callable[[Any, T], R], context: Any, tasks: Sequence[T]
) -> Iterator[tuple[T, R]]:
    futures: dict[Future[R], T] = {}
    try:
        for task in tasks:
            futures[pool.submit(fn, context, task)] = task
        for future in as_completed(futures):
            yield futures[future], future.result()
    except BaseException:
        for future in futures:
            future.cancel()
        raise


def _done(fn: Callable[[Any, T], R], context: Any, task: T) -> Future[R]:
    """`fn(context, task)` run now, as a finished future."""
    future: Future[R] = Future()
    try:
        future.set_result(fn(context, task))
    except Exception as exc:
        future.set_exception(exc)
    return future


def _died(exc: BaseException) -> WorkerDiedError:
    return WorkerDiedError(
        "a worker process died (it was killed, or ran out of memory) before finishing "
        f"its work ({exc}); what finished is kept: rerun the same command to continue"
    )
