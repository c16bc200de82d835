"""A seekable, read-only raw stream of known size: the position bookkeeping of lmio's
file-like readers (ranged GETs, cached byte ranges); subclasses implement `readinto`."""

from __future__ import annotations

import io

__all__ = ["SeekableInput"]


class SeekableInput(io.RawIOBase):
    def __init__(self, size: int, name: str) -> None:
        super().__init__()
        self._size = size
        self._pos = 0
        self.name = name

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError(f"cannot seek to {base + offset} in {self.name}")
        self._pos = base + offset
        return self._pos

    def readall(self) -> bytes:
        data = bytearray(max(0, self._size - self._pos))
        return bytes(data[: self.readinto(data)])
