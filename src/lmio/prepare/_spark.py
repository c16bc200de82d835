"""The Spark executor: the same tasks as the local one, run as Spark tasks.

Each task is one unit or one shard; it writes its files itself, through lmio's writer and
under lmio's names, so the output is the same bytes as a local run. Spark's own Parquet
writer and file naming are never used. On a cluster, the output folder must be storage that
every executor reaches (an object store or a shared file system) and lmio must be installed
on the executors.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from lmio.errors import InvalidArgumentError, LmioError

if TYPE_CHECKING:
    from lmio.prepare._tokenizers import TokenizerSource

__all__ = ["SparkExecutor", "SparkTaskError"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

_PYTHON_ERROR = re.compile(r"^(lmio\.errors\.\w+|\w+Error): (.*)$", re.MULTILINE)


class SparkTaskError(LmioError):
    """A Spark task failed; the message carries the error it raised."""


class SparkExecutor:
    """Runs `fn(context, task)` for each task as a Spark task (one partition per task)."""

    def __init__(self, *, master: str | None, workers: int | None) -> None:
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise InvalidArgumentError(
                "engine='spark' needs pyspark: pip install 'lmio[spark]' (and Java 17 or newer)"
            ) from None
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        active = SparkSession.getActiveSession()
        if active is not None and master is None:
            self._spark = active
        else:
            chosen = master or (f"local[{workers}]" if workers else "local[*]")
            self._spark = (
                SparkSession.builder.master(chosen)
                .appName("lmio prepare")
                .config("spark.ui.showConsoleProgress", "false")
                .getOrCreate()
            )
            self._spark.sparkContext.setLogLevel("ERROR")
        self.master = self._spark.sparkContext.master

    @property
    def description(self) -> str:
        return f"spark, master {self.master}"

    def start(self, source: TokenizerSource) -> None:
        """Nothing to start: Spark tasks load the tokenizer stored beside the shards."""

    def map_unordered(
        self, fn: Callable[[Any, T], R], context: Any, tasks: Sequence[T]
    ) -> Iterator[tuple[T, R]]:
        if not tasks:
            return
        indexed = list(enumerate(tasks))
        rdd = self._spark.sparkContext.parallelize(indexed, len(indexed))
        try:
            results = rdd.map(lambda item: (item[0], fn(context, item[1]))).collect()
        except Exception as exc:
            raise SparkTaskError(f"a Spark task failed: {_python_error(exc)}") from None
        for index, result in results:
            yield tasks[index], result

    def close(self, *, wait: bool = False) -> None:
        """The session stays up for the next run in this process; Spark stops it at exit."""

    def __enter__(self) -> SparkExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _python_error(exc: BaseException) -> str:
    """The last Python error line inside a Spark failure, else the failure's first line."""
    text = str(exc)
    found = _PYTHON_ERROR.findall(text)
    if found:
        name, message = found[-1]
        return f"{name.rsplit('.', 1)[-1]}: {message}"
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
