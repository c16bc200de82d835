"""Batches for PyTorch from tokenized Parquet datasets: threads, prefetch, cache, resume.

`TokenLoader` reads a dataset written by `lmio prepare` (or a `Mixture` of several) and yields
dicts of [batch, seq_len] int64 tensors, in an order fixed by the seed and the epoch, split
over ranks and DataLoader workers without overlap, and resumable from an O(1) `state_dict()`
on any world size.
"""

from lmio.loader._loader import TokenLoader
from lmio.loader._metrics import LoaderMetrics
from lmio.loader._mixing import Mixture
from lmio.loader._packing import document_attention_mask

__all__ = ["LoaderMetrics", "Mixture", "TokenLoader", "document_attention_mask"]
