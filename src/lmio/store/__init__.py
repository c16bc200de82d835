"""Storage: every path is a URL (local paths, `file://`, `s3://`, anything fsspec reaches).

Also the tokenized dataset format: `open_dataset` reads what `lmio prepare` wrote.
"""

from lmio.store._cache import CacheEntry, DiskCache
from lmio.store._dataset import Dataset, ShardInfo, open_dataset
from lmio.store._files import (
    exists,
    is_local,
    open_input,
    open_output_atomic,
    read_bytes,
    url_join,
    write_bytes_atomic,
)
from lmio.store._paths import check_relative, resolve_under
from lmio.store._remote import (
    filesystem,
    get_default_storage_options,
    parse_storage_options,
    set_default_storage_options,
)
from lmio.store._shards import ShardReader

__all__ = [
    "CacheEntry",
    "Dataset",
    "DiskCache",
    "ShardInfo",
    "ShardReader",
    "check_relative",
    "exists",
    "filesystem",
    "get_default_storage_options",
    "is_local",
    "open_dataset",
    "open_input",
    "open_output_atomic",
    "parse_storage_options",
    "read_bytes",
    "resolve_under",
    "set_default_storage_options",
    "url_join",
    "write_bytes_atomic",
]
