"""Whole-object reads and atomic writes for local paths and fsspec URLs."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Any

from lmio.errors import NotFoundError

__all__ = ["exists", "is_local", "open_input", "read_bytes", "url_join", "write_bytes_atomic"]


def is_local(url: str | os.PathLike[str]) -> bool:
    text = os.fspath(url)
    return "://" not in text or text.startswith("file://")


def _local_path(url: str | os.PathLike[str]) -> Path:
    text = os.fspath(url)
    return Path(text[len("file://") :] if text.startswith("file://") else text)


def _filesystem(url: str, storage_options: dict[str, Any] | None) -> tuple[Any, str]:
    import fsspec

    fs, path = fsspec.core.url_to_fs(url, **(storage_options or {}))
    return fs, path


def url_join(base: str | os.PathLike[str], *parts: str) -> str:
    text = os.fspath(base)
    if is_local(text):
        return str(_local_path(text).joinpath(*parts))
    return "/".join([text.rstrip("/"), *parts])


def exists(url: str | os.PathLike[str], *, storage_options: dict[str, Any] | None = None) -> bool:
    if is_local(url):
        return _local_path(url).exists()
    fs, path = _filesystem(os.fspath(url), storage_options)
    return bool(fs.exists(path))


def read_bytes(
    url: str | os.PathLike[str], *, storage_options: dict[str, Any] | None = None
) -> bytes:
    """The whole object; a missing one raises `NotFoundError` naming it."""
    try:
        if is_local(url):
            return _local_path(url).read_bytes()
        fs, path = _filesystem(os.fspath(url), storage_options)
        return bytes(fs.cat_file(path))
    except FileNotFoundError:
        raise NotFoundError(f"no such file: {os.fspath(url)}") from None
    except IsADirectoryError:
        raise NotFoundError(f"expected a file but found a directory: {os.fspath(url)}") from None


def open_input(
    url: str | os.PathLike[str], *, storage_options: dict[str, Any] | None = None
) -> IO[bytes]:
    """A binary stream for reading; a missing object raises `NotFoundError`."""
    try:
        if is_local(url):
            return _local_path(url).open("rb")
        fs, path = _filesystem(os.fspath(url), storage_options)
        stream: IO[bytes] = fs.open(path, "rb")
        return stream
    except FileNotFoundError:
        raise NotFoundError(f"no such file: {os.fspath(url)}") from None
    except IsADirectoryError:
        raise NotFoundError(f"expected a file but found a directory: {os.fspath(url)}") from None


def write_bytes_atomic(
    url: str | os.PathLike[str], data: bytes, *, storage_options: dict[str, Any] | None = None
) -> None:
    """Readers see the old object or the new one, never a torn write.

    Locally: a temporary file in the same directory, fsync, then rename over the target.
    Object stores publish an upload only when it completes, which is atomic already.
    """
    if not is_local(url):
        fs, path = _filesystem(os.fspath(url), storage_options)
        fs.pipe_file(path, data)
        return
    target = _local_path(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
