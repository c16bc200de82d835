"""Moving bytes to and from a remote object: parallel ranged GETs, multipart PUTs.

Every request goes through the object's retry policy (`Remote.call`), one part at a time, so
a reset in the middle of a large object costs one part, not the object. Reads of objects
larger than one part fetch `max_concurrency` parts at once and hand them over in order.
Writes of objects larger than one part go to S3 as a multipart upload that is completed only
when every part is in, and aborted on any failure: readers never see a partial object.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from lmio.errors import StorageError
from lmio.store._remote import Remote
from lmio.store._seekable import SeekableInput

__all__ = [
    "RangedInput",
    "iter_parts",
    "object_size",
    "open_atomic_writer",
    "read_range",
    "read_whole",
    "write_whole",
]

logger = logging.getLogger(__name__)


class _TruncatedBodyError(ConnectionError):
    """A GET answered with fewer bytes than asked for: the connection ended early."""


def object_size(remote: Remote) -> int:
    """The object's size from a HEAD; a missing object raises FileNotFoundError."""
    return int(remote.call("HEAD", lambda: remote.fs.size(remote.path)))


def read_range(remote: Remote, start: int, end: int) -> bytes:
    """Bytes [start, end) of the object, retried as a whole on a transient failure."""

    def get() -> bytes:
        data = bytes(remote.fs.cat_file(remote.path, start=start, end=end))
        if len(data) != end - start:
            raise _TruncatedBodyError(f"got {len(data)} of {end - start} bytes at offset {start}")
        return data

    return remote.call(f"GET bytes {start}-{end - 1} of", get)


def iter_parts(remote: Remote, size: int, *, start: int = 0) -> Iterator[bytes]:
    """Bytes [start, size) in order, in parts of `part_size`, up to `max_concurrency` in flight."""
    bounds = [
        (offset, min(offset + remote.part_size, size))
        for offset in range(start, size, remote.part_size)
    ]
    if len(bounds) <= 1:
        for begin, end in bounds:
            yield read_range(remote, begin, end)
        return
    workers = min(remote.concurrency, len(bounds))
    with ThreadPoolExecutor(workers, thread_name_prefix="lmio-get") as pool:
        pending: deque[Future[bytes]] = deque()
        queued = iter(bounds)
        try:
            for begin, end in queued:
                pending.append(pool.submit(read_range, remote, begin, end))
                if len(pending) >= workers:
                    break
            while pending:
                data = pending.popleft().result()
                for begin, end in queued:
                    pending.append(pool.submit(read_range, remote, begin, end))
                    break
                yield data
        finally:
            for future in pending:
                future.cancel()


def read_whole(remote: Remote) -> bytes:
    """The whole object: one GET when it fits in a part, parallel ranged GETs otherwise."""
    size = object_size(remote)
    if size <= remote.part_size:
        return read_range(remote, 0, size) if size else b""
    buffer = bytearray(size)
    offset = 0
    for part in iter_parts(remote, size):
        buffer[offset : offset + len(part)] = part
        offset += len(part)
    return bytes(buffer)


class RangedInput(SeekableInput):
    """A seekable, read-only stream over ranged GETs (wrap it in `io.BufferedReader`).

    A read larger than a part is fetched as parallel parts.
    """

    def __init__(self, remote: Remote, size: int) -> None:
        super().__init__(size, remote.url)
        self._remote = remote

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        end = min(self._size, self._pos + len(view))
        if end <= self._pos:
            return 0
        filled = 0
        if end - self._pos <= self._remote.part_size:
            parts: Iterator[bytes] = iter((read_range(self._remote, self._pos, end),))
        else:
            parts = iter_parts(self._remote, end, start=self._pos)
        for part in parts:
            view[filled : filled + len(part)] = part
            filled += len(part)
        self._pos += filled
        return filled


def write_whole(remote: Remote, data: bytes | bytearray | memoryview) -> None:
    """Publish `data` at the object: one PUT, or a multipart upload when larger than a part."""
    if remote.is_s3 and len(data) > remote.part_size:
        upload = _MultipartUpload(remote)
        try:
            view = memoryview(data)
            for offset in range(0, len(view), remote.part_size):
                upload.add(bytes(view[offset : offset + remote.part_size]))
            upload.complete()
        except BaseException:
            upload.abort()
            raise
        return
    payload = bytes(data)
    remote.call("PUT", lambda: remote.fs.pipe_file(remote.path, payload))


class _MultipartUpload:
    """One S3 multipart upload: parts sent in parallel (bounded), completed or aborted."""

    def __init__(self, remote: Remote) -> None:
        self._remote = remote
        bucket, key, _ = remote.fs.split_path(remote.path)
        self._target = {"Bucket": bucket, "Key": key}
        response = remote.call(
            "start multipart upload of",
            lambda: remote.fs.call_s3("create_multipart_upload", **self._target),
        )
        self._id: str = response["UploadId"]
        self._pool = ThreadPoolExecutor(remote.concurrency, thread_name_prefix="lmio-put")
        self._slots = threading.BoundedSemaphore(remote.concurrency)
        self._futures: list[Future[dict[str, Any]]] = []
        self._failed: Future[dict[str, Any]] | None = None
        self._size = 0

    def add(self, payload: bytes | bytearray) -> None:
        """Send the next part (at least 5 MiB unless it is the last), which the caller must
        not change; blocks while `max_concurrency` parts are in flight."""
        self._slots.acquire()
        if self._failed is not None:
            self._slots.release()
            self._failed.result()  # raises the part's error
        self._size += len(payload)
        future = self._pool.submit(self._send, len(self._futures) + 1, payload)
        future.add_done_callback(self._sent)
        self._futures.append(future)

    def _sent(self, future: Future[dict[str, Any]]) -> None:
        if not future.cancelled() and future.exception() is not None:
            self._failed = future
        self._slots.release()

    def _send(self, number: int, payload: bytes | bytearray) -> dict[str, Any]:
        response = self._remote.call(
            f"PUT part {number} of",
            lambda: self._remote.fs.call_s3(
                "upload_part", UploadId=self._id, PartNumber=number, Body=payload, **self._target
            ),
        )
        part = {"PartNumber": number, "ETag": response["ETag"]}
        for name in ("ChecksumCRC32", "ChecksumCRC32C", "ChecksumCRC64NVME", "ChecksumSHA1"):
            if response.get(name):
                part[name] = response[name]
        return part

    def complete(self) -> None:
        parts = [future.result() for future in self._futures]
        self._pool.shutdown()
        tries = 0

        def finish() -> None:
            nonlocal tries
            tries += 1
            try:
                self._remote.fs.call_s3(
                    "complete_multipart_upload",
                    UploadId=self._id,
                    MultipartUpload={"Parts": parts},
                    **self._target,
                )
            except FileNotFoundError:
                # NoSuchUpload on a second try: the first completed but its answer was lost.
                if tries == 1 or self._remote.fs.size(self._remote.path) != self._size:
                    raise
                logger.info("%s was completed by an earlier try", self._remote.url)

        self._remote.call("complete multipart upload of", finish)
        self._remote.fs.invalidate_cache(self._remote.path)

    def abort(self) -> None:
        """Drop the parts sent so far; failures here are logged, not raised."""
        for future in self._futures:
            future.cancel()
        self._pool.shutdown(wait=True)
        try:
            self._remote.call(
                "abort multipart upload of",
                lambda: self._remote.fs.call_s3(
                    "abort_multipart_upload", UploadId=self._id, **self._target
                ),
            )
        except (OSError, StorageError) as exc:
            logger.warning(
                "could not abort the multipart upload %s of %s (%s); a bucket lifecycle rule "
                "for incomplete uploads will remove its parts",
                self._id,
                self._remote.url,
                exc,
            )


class _S3Writer(io.RawIOBase):
    """Buffers writes into parts; the object appears at `commit`, never before."""

    def __init__(self, remote: Remote) -> None:
        super().__init__()
        self._remote = remote
        self._buffer = bytearray()
        self._upload: _MultipartUpload | None = None

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._buffer += view
        part = self._remote.part_size
        if len(self._buffer) >= 2 * part:  # keep one part back: the last may be short
            if self._upload is None:
                self._upload = _MultipartUpload(self._remote)
            cut = (len(self._buffer) - part) // part * part
            for offset in range(0, cut, part):
                self._upload.add(self._buffer[offset : offset + part])
            del self._buffer[:cut]
        return view.nbytes

    def commit(self) -> None:
        if self._upload is None:
            write_whole(self._remote, self._buffer)
        else:
            self._upload.add(self._buffer)
            self._upload.complete()
        self._buffer = bytearray()

    def discard(self) -> None:
        if self._upload is not None:
            self._upload.abort()
        self._buffer = bytearray()


class _SpooledWriter(io.RawIOBase):
    """For filesystems other than S3: write a local temporary file, upload it at `commit`."""

    def __init__(self, remote: Remote) -> None:
        super().__init__()
        self._remote = remote
        self._file = tempfile.NamedTemporaryFile(prefix="lmio-upload-", delete=False)  # noqa: SIM115

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return self._file.write(data)

    def commit(self) -> None:
        self._file.close()
        name = self._file.name
        try:
            self._remote.call("PUT", lambda: self._remote.fs.put_file(name, self._remote.path))
        finally:
            os.unlink(name)

    def discard(self) -> None:
        self._file.close()
        os.unlink(self._file.name)


def open_atomic_writer(
    remote: Remote,
) -> tuple[io.RawIOBase, Callable[[], None], Callable[[], None]]:
    """A writable raw stream, and its `commit` and `discard`."""
    writer: _S3Writer | _SpooledWriter = (
        _S3Writer(remote) if remote.is_s3 else _SpooledWriter(remote)
    )
    return writer, writer.commit, writer.discard
