"""Whole-object reads and atomic writes for local paths and fsspec URLs."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from lmio.errors import NotFoundError

__all__ = [
    "exists",
    "is_local",
    "list_names",
    "open_input",
    "open_output_atomic",
    "read_bytes",
    "remove",
    "sha256_file",
    "size",
    "url_join",
    "write_bytes_atomic",
]

_HASH_BLOCK = 1 << 22


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


def size(url: str | os.PathLike[str], *, storage_options: dict[str, Any] | None = None) -> int:
    """Size of the object in bytes; a missing one raises `NotFoundError` naming it."""
    try:
        if is_local(url):
            return _local_path(url).stat().st_size
        fs, path = _filesystem(os.fspath(url), storage_options)
        return int(fs.size(path))
    except FileNotFoundError:
        raise NotFoundError(f"no such file: {os.fspath(url)}") from None


def sha256_file(
    url: str | os.PathLike[str], *, storage_options: dict[str, Any] | None = None
) -> str:
    """`sha256:<hex>` of the object's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open_input(url, storage_options=storage_options) as stream:
        while block := stream.read(_HASH_BLOCK):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


@contextlib.contextmanager
def open_output_atomic(
    url: str | os.PathLike[str], *, storage_options: dict[str, Any] | None = None
) -> Iterator[IO[bytes]]:
    """A binary stream whose content appears at `url` only if the block finishes without error.

    Locally: a temporary file beside the target, fsync, then rename. Object stores publish
    an upload only when it completes.
    """
    if not is_local(url):
        fs, path = _filesystem(os.fspath(url), storage_options)
        with fs.open(path, "wb") as remote:
            yield remote
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


def list_names(
    url: str | os.PathLike[str], *, storage_options: dict[str, Any] | None = None
) -> list[str]:
    """Sorted names of the entries directly under a folder or prefix; [] when it is absent."""
    if is_local(url):
        folder = _local_path(url)
        return sorted(entry.name for entry in folder.iterdir()) if folder.is_dir() else []
    fs, path = _filesystem(os.fspath(url), storage_options)
    if not fs.exists(path):
        return []
    return sorted(entry.rstrip("/").rsplit("/", 1)[-1] for entry in fs.ls(path, detail=False))


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
    fs, path_text = _filesystem(os.fspath(url), storage_options)
    if fs.exists(path_text):
        fs.rm(path_text, recursive=recursive)
