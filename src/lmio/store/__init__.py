"""Storage: every path is a URL (local paths, `file://`, `s3://`, anything fsspec reaches)."""

from lmio.store._files import (
    exists,
    open_input,
    read_bytes,
    url_join,
    write_bytes_atomic,
)

__all__ = ["exists", "open_input", "read_bytes", "url_join", "write_bytes_atomic"]
