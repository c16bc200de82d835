"""Corpus to tokenized Parquet shards: `prepare`, on local processes or Apache Spark."""

from lmio.prepare._inputs import Documents
from lmio.prepare._pipeline import prepare
from lmio.prepare._report import PrepareReport

__all__ = ["Documents", "PrepareReport", "prepare"]
