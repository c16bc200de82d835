"""Paths read from a manifest or a checkpoint index, kept inside the root they belong to.

A file written by someone else decides which objects lmio opens next; `resolve_under` makes
sure none of them is outside the dataset's (or checkpoint's) root: no `..`, no absolute path,
no URL to another bucket or another scheme, no backslash or empty segment that a filesystem
might read differently.
"""

from __future__ import annotations

import os

from lmio.errors import FormatError
from lmio.store._files import url_join

__all__ = ["check_relative", "resolve_under"]


def check_relative(path: object, *, source: str) -> str:
    """`path` if it is a plain relative path (`data/shard-00000.parquet`), else `FormatError`.

    `source` names the file the path was read from, for the message.
    """
    if not isinstance(path, str) or not path:
        problem = "is not a non-empty string"
    elif "://" in path or path.startswith(("/", "~")) or (len(path) > 1 and path[1] == ":"):
        problem = "is absolute or a URL"
    elif "\\" in path or "\x00" in path:
        problem = "contains a backslash or a NUL"
    elif any(part in ("", ".", "..") for part in path.split("/")):
        problem = "has an empty, '.' or '..' segment"
    else:
        return path
    raise FormatError(
        f"{source} names the path {path!r}, which {problem}; paths in it must stay inside its "
        "folder (relative, '/'-separated, without '..'): the file is damaged or was not "
        "written by lmio"
    )


def resolve_under(root: str | os.PathLike[str], path: object, *, source: str) -> str:
    """The URL (or local path) of `path` under `root`, after `check_relative`."""
    return url_join(root, *check_relative(path, source=source).split("/"))
