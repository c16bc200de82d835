"""The corpus every machine with Python has: its documentation topics and standard library.

`lmio quickstart` and the tests use it, so neither needs a download.
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

__all__ = ["embedded_corpus"]

# Generated, vendored or test files: not representative prose or code.
_SKIPPED_DIRS = {"test", "tests", "idle_test", "site-packages", "__pycache__", "encodings"}


def embedded_corpus(*, max_bytes: int | None = None, include_code: bool = True) -> list[str]:
    """Documents from `pydoc_data.topics` (one per topic), then standard-library `.py` files.

    The order is deterministic for a given Python build. `max_bytes` stops adding documents
    once their UTF-8 size reaches it (the last document is kept whole).
    """
    from pydoc_data.topics import topics

    documents: list[str] = []
    total = 0
    for _name, text in sorted(topics.items()):
        if total >= (max_bytes if max_bytes is not None else float("inf")):
            return documents
        documents.append(text)
        total += len(text.encode("utf-8"))
    if include_code:
        for path in _stdlib_sources():
            if max_bytes is not None and total >= max_bytes:
                break
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if text.strip():
                documents.append(text)
                total += len(text.encode("utf-8"))
    return documents


def _stdlib_sources() -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    return sorted(
        path
        for path in root.rglob("*.py")
        if not _SKIPPED_DIRS.intersection(path.relative_to(root).parts[:-1])
    )
