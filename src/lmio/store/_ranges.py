"""Byte ranges of a shard, each with its own checksum: a row group read without the whole file.

lmio's writer records where each row group's bytes lie and where the footer's do, with an
XXH3-128 of each (`ShardRanges`, kept in the manifest's shard entries as `ranges`). A reader
with a disk cache then caches a remote shard range by range: the footer first, then the row
groups as they are needed or prefetched, each verified on download. `RangeFile` presents the
cached ranges to Parquet as the shard's file; a read outside them is a bug, not a fetch.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lmio.errors import FormatError
from lmio.store._checksums import Checksum
from lmio.store._seekable import SeekableInput

__all__ = ["ByteRange", "RangeFile", "ShardRanges"]


@dataclass(frozen=True)
class ByteRange:
    offset: int
    length: int
    checksum: str  # of these bytes, as lmio records checksums: xxh3-128:<hex> (or sha256:)

    @property
    def end(self) -> int:
        return self.offset + self.length

    def to_list(self) -> list[Any]:
        return [self.offset, self.length, self.checksum]

    @classmethod
    def from_list(cls, item: Any, *, within: int, where: str) -> ByteRange:
        try:
            offset, length, checksum = item
            found = cls(int(offset), int(length), str(checksum))
        except (TypeError, ValueError):
            raise FormatError(
                f"{where}: a byte range must be [offset, length, checksum], got {item!r}"
            ) from None
        if not (found.offset >= 0 and found.length > 0 and found.end <= within):
            raise FormatError(f"{where}: the byte range {item!r} is not inside its {within} bytes")
        Checksum(found.checksum)  # readable, or a FormatError that says what lmio records
        return found


@dataclass(frozen=True)
class ShardRanges:
    """Where a shard's row groups and its footer lie, and their checksums."""

    row_groups: tuple[ByteRange, ...]
    footer: ByteRange  # the footer's metadata, its length and the closing magic: the file's end

    def to_dict(self) -> dict[str, Any]:
        return {
            "row_groups": [r.to_list() for r in self.row_groups],
            "footer": self.footer.to_list(),
        }

    @classmethod
    def from_dict(cls, data: Any, *, size: int, row_groups: int, where: str) -> ShardRanges:
        """Checked: one range per row group, in order, not overlapping, the footer last and
        ending the file."""
        if not isinstance(data, dict) or "row_groups" not in data or "footer" not in data:
            raise FormatError(f"{where}: ranges need 'row_groups' and 'footer', got {data!r}")
        groups = tuple(ByteRange.from_list(r, within=size, where=where) for r in data["row_groups"])
        footer = ByteRange.from_list(data["footer"], within=size, where=where)
        if len(groups) != row_groups:
            raise FormatError(
                f"{where}: {len(groups)} row group ranges for {row_groups} row groups"
            )
        ends = [4, *(r.end for r in groups)]
        if any(r.offset < end for r, end in zip((*groups, footer), ends, strict=True)):
            raise FormatError(f"{where}: the byte ranges overlap or are out of order")
        if footer.end != size:
            raise FormatError(f"{where}: the footer range does not end the file")
        return cls(groups, footer)


class RangeFile(SeekableInput):
    """A read-only file of `size` bytes made of ranges opened on demand: `open_range(i)`
    returns a local file object holding row group i's bytes and a callable that releases it.
    The two most recently used ranges stay open; the rest are released (so a long-open
    shard does not pin every row group it has read)."""

    _KEEP = 2

    def __init__(
        self,
        size: int,
        ranges: ShardRanges,
        open_range: Callable[[int], tuple[Any, Callable[[], None]]],
        *,
        name: str,
    ) -> None:
        super().__init__(size, name)
        self._ranges = ranges.row_groups
        self._offsets = [r.offset for r in ranges.row_groups]
        self._open_range = open_range
        self._open: OrderedDict[int, tuple[Any, Callable[[], None]]] = OrderedDict()

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._size - self._pos)
        if want <= 0:
            return 0
        index = self._find(self._pos, want)
        handle = self._handle(index)
        handle.seek(self._pos - self._ranges[index].offset)
        got = handle.readinto(view[:want])
        self._pos += got
        return int(got)

    def _find(self, start: int, length: int) -> int:
        index = bisect.bisect_right(self._offsets, start) - 1  # ranges are in order
        if index >= 0 and start + length <= self._ranges[index].end:
            return index
        raise OSError(f"{self.name}: bytes {start}-{start + length} lie in no row group range")

    def _handle(self, index: int) -> Any:
        found = self._open.get(index)
        if found is not None:
            self._open.move_to_end(index)
            return found[0]
        self._open[index] = self._open_range(index)
        while len(self._open) > self._KEEP:
            handle, release = self._open.popitem(last=False)[1]
            handle.close()
            release()
        return self._open[index][0]

    def close(self) -> None:
        while self._open:
            handle, release = self._open.popitem(last=False)[1]
            handle.close()
            release()
        super().close()
