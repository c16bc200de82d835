"""Whole-object reads, streams and atomic writes for local paths and fsspec URLs.

Every module of lmio does its I/O through these. Remote URLs go through `lmio.store._remote`
(options, defaults, retries) and `lmio.store._transfer` (parallel ranged GETs, multipart
uploads), so each call here is retried on throttling, 5xx answers, resets and timeouts, and
raises `StorageError` once the tries are spent.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from lmio.errors import IntegrityError, NotFoundError
from lmio.store._checksums import Checksum, new_hasher
from lmio.store._remote import Remote, remote
from lmio.store._transfer import (
    RangedInput,
    iter_parts,
    object_size,
    open_atomic_writer,
    read_whole,
    write_whole,
)

__all__ = [
    "checksum_file",
    "exists",
    "is_local",
    "list_names",
    "open_input",
    "open_output_atomic",
    "read_bytes",
    "remove",
    "size",
    "start_writeback",
    "url_join",
    "write_bytes_atomic",
]

logger = logging.getLogger(__name__)

_HASH_BLOCK = 1 << 22
_INPUT_BUFFER = 1 << 22


def is_local(url: str | os.PathLike[str]) -> bool:
    text = os.fspath(url)
    return "://" not in text or text.startswith("file://")


def _local_path(url: str | os.PathLike[str]) -> Path:
    text = os.fspath(url)
    return Path(text[len("file://") :] if text.startswith("file://") else text)


def url_join(base: str | os.PathLike[str], *parts: str) -> str:
    text = os.fspath(base)
    if is_local(text):
        return str(_local_path(text).joinpath(*parts))
    return "/".join([text.rstrip("/"), *parts])


def _fresh(target: Remote) -> Remote:
    """`target` with fsspec's cached listings of it dropped: other processes write too."""
    target.fs.invalidate_cache(target.path)
    return target


@contextlib.contextmanager
def _not_found_as_lmio(url: str | os.PathLike[str]) -> Iterator[None]:
    try:
        yield
    except FileNotFoundError as exc:
        if isinstance(exc, NotFoundError):
            raise
        raise NotFoundError(f"no such file: {os.fspath(url)}") from None
    except IsADirectoryError:
        raise NotFoundError(f"expected a file but found a directory: {os.fspath(url)}") from None


def exists(url: str | os.PathLike[str], *, storage_options: dict[str, Any] | None = None) -> bool:
    if is_local(url):
        return _local_path(url).exists()
    target = _fresh(remote(url, storage_options))
    return bool(target.call("HEAD", lambda: target.fs.exists(target.path)))


def size(url: str | os.PathLike[str], *, storage_options: dict[str, Any] | None = None) -> int:
    """Size of the object in bytes; a missing one raises `NotFoundError` naming it."""
    with _not_found_as_lmio(url):
        if is_local(url):
            return _local_path(url).stat().st_size
        return object_size(_fresh(remote(url, storage_options)))


def read_bytes(
    url: str | os.PathLike[str],
    *,
    storage_options: dict[str, Any] | None = None,
    checksum: str | None = None,
) -> bytes:
    """The whole object; a missing one raises `NotFoundError` naming it.

    With `checksum` (`sha256:<hex>`, as recorded when the object was written) the bytes are
    verified: a mismatch is read once more, then raises `IntegrityError`.
    """
    expected = Checksum(checksum) if checksum is not None else None
    for attempt in (1, 2):
        with _not_found_as_lmio(url):
            if is_local(url):
                data = _local_path(url).read_bytes()
            else:
                data = read_whole(remote(url, storage_options))
        if expected is None:
            return data
        hasher = expected.hasher()
        hasher.update(data)
        if expected.matches(hasher):
            return data
        found = expected.format(hasher)
        if attempt == 1:
            logger.warning("%s read as %s, expected %s; reading it again", url, found, checksum)
    raise IntegrityError(
        f"{os.fspath(url)} is damaged: read twice, its checksum is {found} but {checksum} was "
        "recorded when it was written; restore the object or write it again"
    )


def open_input(
    url: str | os.PathLike[str],
    *,
    storage_options: dict[str, Any] | None = None,
    buffer_size: int | None = None,
) -> IO[bytes]:
    """A seekable binary stream for reading; a missing object raises `NotFoundError`.

    Remote objects are read with ranged GETs, each retried on its own; a read larger than a
    part fetches its parts in parallel. `buffer_size` caps how far a small remote read looks
    ahead (default 4 MiB, for reading a file front to back; random access such as Parquet's
    wants less, or every small read fetches that much).
    """
    with _not_found_as_lmio(url):
        if is_local(url):
            return _local_path(url).open("rb")
        target = remote(url, storage_options)
        raw = RangedInput(target, object_size(target))
        ahead = _INPUT_BUFFER if buffer_size is None else buffer_size
        return io.BufferedReader(raw, buffer_size=min(ahead, target.part_size))


def write_bytes_atomic(
    url: str | os.PathLike[str], data: bytes, *, storage_options: dict[str, Any] | None = None
) -> None:
    """Readers see the old object or the new one, never a torn write.

    Locally: a temporary file in the same directory, fsync, then rename over the target.
    Object stores publish an upload only when it completes (a multipart upload for objects
    larger than a part), which is atomic already.
    """
    if not is_local(url):
        write_whole(remote(url, storage_options), data)
        return
    with open_output_atomic(url) as stream:
        stream.write(data)


@contextlib.contextmanager
def open_output_atomic(
    url: str | os.PathLike[str], *, storage_options: dict[str, Any] | None = None
) -> Iterator[IO[bytes]]:
    """A binary stream whose content appears at `url` only if the block finishes without error.

    Locally: a temporary file beside the target, fsync, then rename. On S3: parts are uploaded
    while the block writes, and the multipart upload is completed at its end, or aborted.
    Other filesystems: a local temporary file, uploaded at the end.
    """
    if not is_local(url):
        raw, commit, discard = open_atomic_writer(remote(url, storage_options))
        stream = io.BufferedWriter(raw, buffer_size=_INPUT_BUFFER)
        try:
            yield stream
            stream.flush()
            commit()
        except BaseException:
            discard()
            raise
        return
    target = _local_path(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as tmp:
            yield tmp
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


_SYNC_FILE_RANGE_WRITE = 2


def start_writeback(stream: IO[bytes]) -> None:
    """Have the kernel start writing what `stream`, a local file, has written so far to disk,
    without waiting for it (Linux's sync_file_range): the fsync that makes the file durable
    then has little left to wait for. Elsewhere, and for streams without a file, nothing."""
    writeback = _sync_file_range()
    try:
        fd = stream.fileno()
    except (OSError, AttributeError, ValueError):  # not a local file
        return
    if writeback is not None:
        stream.flush()
        writeback(fd, 0, 0, _SYNC_FILE_RANGE_WRITE)  # 0, 0: the whole file


@functools.lru_cache(maxsize=1)
def _sync_file_range() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


def checksum_file(
    url: str | os.PathLike[str],
    *,
    algorithm: str = "sha256",
    storage_options: dict[str, Any] | None = None,
) -> str:
    """`<algorithm>:<hex>` of the object's bytes, read in blocks (parallel parts when remote)."""
    hasher = new_hasher(algorithm)
    with _not_found_as_lmio(url):
        if is_local(url):
            with _local_path(url).open("rb") as stream:
                while block := stream.read(_HASH_BLOCK):
                    hasher.update(block)
        else:
            target = remote(url, storage_options)
            for part in iter_parts(target, object_size(target)):
                hasher.update(part)
    return f"{algorithm}:{hasher.hexdigest()}"


def list_names(
    url: str | os.PathLike[str], *, storage_options: dict[str, Any] | None = None
) -> list[str]:
    """Sorted names of the entries directly under a folder or prefix; [] when it is absent."""
    if is_local(url):
        folder = _local_path(url)
        return sorted(entry.name for entry in folder.iterdir()) if folder.is_dir() else []
    target = _fresh(remote(url, storage_options))

    def names() -> list[str]:
        try:
            entries = target.fs.ls(target.path, detail=False)
        except FileNotFoundError:
            return []
        return sorted(entry.rstrip("/").rsplit("/", 1)[-1] for entry in entries)

    return target.call("LIST", names)


def remove(
    url: str | os.PathLike[str],
    *,
    recursive: bool = False,
    storage_options: dict[str, Any] | None = None,
) -> None:
    """Delete a file, or a folder and everything under it with `recursive=True`; absent is fine."""
    if is_local(url):
        path = _local_path(url)
        if path.is_dir() and not path.is_symlink():
            if not recursive:
                raise IsADirectoryError(f"{path} is a folder; pass recursive=True to delete it")
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
        return
    target = remote(url, storage_options)

    def delete() -> None:
        with contextlib.suppress(FileNotFoundError):
            target.fs.rm(target.path, recursive=recursive)

    target.call("DELETE", delete)
