"""Storage: every path is a URL (local paths, `file://`, `s3://`, anything fsspec reaches).

Also the tokenized dataset format: `open_dataset` reads what `lmio prepare` wrote.
"""

from lmio.store._dataset import Dataset, ShardInfo, open_dataset
from lmio.store._files import (
    exists,
    open_input,
    open_output_atomic,
    read_bytes,
    url_join,
    write_bytes_atomic,
)
from lmio.store._shards import ShardReader

__all__ = [
    "Dataset",
    "ShardInfo",
    "ShardReader",
    "exists",
    "open_dataset",
    "open_input",
    "open_output_atomic",
    "read_bytes",
    "url_join",
    "write_bytes_atomic",
]
