"""Lines of a byte stream, in runs: the reader's unit of work, so per-line cost stays in C.

A run is a stretch of complete lines, handed over whole (split it on `\\n`). A line longer
than the limit comes instead in fragments, so memory stays bounded however long it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO

__all__ = ["FRAGMENT", "LAST_FRAGMENT", "LINES", "blocks", "line_runs"]

LINES = 0  # complete lines, joined by "\n" (the last one's newline left out)
FRAGMENT = 1  # a piece of a line longer than the limit; more follow
LAST_FRAGMENT = 2  # the end of such a line


def blocks(stream: IO[bytes], head: bytes, size: int) -> Iterator[bytes]:
    """`head` (bytes already read), then the rest of the stream in blocks of `size`."""
    if head:
        yield head
    while True:
        data = stream.read(size)
        if not data:
            return
        yield bytes(data)


def line_runs(
    chunks: Iterable[bytes], start: int, end: int | None, limit: int | None
) -> Iterator[tuple[int, bytes, int]]:
    """(file offset, bytes, kind) covering the lines that start in [start, end).

    `chunks` begin at byte `start - 1` when `start` > 0 (to see whether a line starts at
    `start`), else at 0. Kind LINES: complete lines joined by newlines, at the offset of the
    first. A line longer than `limit` bytes comes as FRAGMENTs of about `limit` bytes then a
    LAST_FRAGMENT, all at the line's offset.
    """
    offset = max(start - 1, 0)  # file offset of data[0]
    syncing = start > 0  # skip to the first line that starts at or after `start`
    rest = b""
    line_start = offset  # of the long line being fragmented
    partial = False
    for chunk in chunks:
        data = rest + chunk if rest else chunk
        i = 0
        if syncing:
            newline = data.find(b"\n")
            if newline < 0:
                offset += len(data)
                rest = b""
                continue
            i = newline + 1
            syncing = False
        if partial:
            newline = data.find(b"\n")
            if newline < 0:
                if limit is not None and len(data) > limit:
                    yield line_start, data, FRAGMENT
                    offset += len(data)
                    data = b""
                rest = data
                continue
            yield line_start, data[:newline], LAST_FRAGMENT
            partial = False
            i = newline + 1
        last = data.rfind(b"\n")
        if last >= i:
            if end is not None and offset + i >= end:
                return
            if end is not None and offset + last + 1 > end:  # lines from `end` on are not ours
                stop = data.find(b"\n", max(i, end - offset - 1))
                yield offset + i, data[i:stop], LINES
                return
            yield offset + i, data[i:last], LINES
            i = last + 1
        rest = data[i:]
        offset += i
        if limit is not None and len(rest) > limit:
            if end is not None and offset >= end:
                return
            line_start = offset
            yield line_start, rest, FRAGMENT
            partial = True
            offset += len(rest)
            rest = b""
    if syncing:
        return
    if partial:
        yield line_start, rest, LAST_FRAGMENT
    elif rest and (end is None or offset < end):
        yield offset, rest, LINES
