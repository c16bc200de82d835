"""UTF-8 decoding that replaces and counts invalid sequences, or names the first bad byte."""

from __future__ import annotations

import codecs

from lmio.errors import DataError
from lmio.text._records import OnInvalid, ReadStats

__all__ = ["Utf8Decoder", "decode_line", "invalid_utf8"]


class Utf8Decoder:
    """Incremental decoding; error offsets count from `base`, the file offset of the first byte."""

    def __init__(self, url: str, on_invalid: OnInvalid, stats: ReadStats, base: int = 0) -> None:
        self._url = url
        self._on_invalid = on_invalid
        self._stats = stats
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._consumed = base  # file offset of the next byte fed

    def decode(self, data: bytes, *, final: bool = False) -> str:
        pending = len(self._decoder.getstate()[0])
        base = self._consumed - pending
        self._consumed += len(data)
        buffer = self._decoder.getstate()[0] + data
        self._decoder.reset()
        out: list[str] = []
        start = 0
        while True:
            try:
                out.append(self._decoder.decode(buffer[start:], final=final))
                return "".join(out)
            except UnicodeDecodeError as exc:
                if self._on_invalid == "error":
                    raise invalid_utf8(self._url, base + start + exc.start) from None
                self._stats.invalid_utf8 += 1
                out.append(buffer[start : start + exc.start].decode("utf-8") + "\ufffd")
                self._decoder.reset()
                start += exc.end


def invalid_utf8(url: str, offset: int) -> DataError:
    return DataError(
        f"invalid UTF-8 in {url} at byte offset {offset}; fix the file or read it with "
        "on_invalid='replace' (--on-invalid replace) to substitute U+FFFD"
    )


def decode_line(data: bytes, url: str, offset: int, on_invalid: OnInvalid, stats: ReadStats) -> str:
    """`data` (starting at file offset `offset`) decoded, the common valid case at C speed."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return Utf8Decoder(url, on_invalid, stats, base=offset).decode(data, final=True)
