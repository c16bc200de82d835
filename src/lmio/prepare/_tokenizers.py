"""One tokenizer per worker process, loaded once from the dataset's copy and checked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lmio.errors import IntegrityError
from lmio.prepare._layout import Layout
from lmio.prepare._settings import JobContext

if TYPE_CHECKING:
    from lmio.tokenizer import Tokenizer

__all__ = ["remember", "tokenizer_for"]

_LOADED: dict[str, Tokenizer] = {}


def remember(tokenizer: Tokenizer, checksum: str) -> None:
    """Use this object, whose checksum is `checksum`, in this process (the caller's own)."""
    _LOADED[checksum] = tokenizer


def tokenizer_for(context: JobContext) -> Tokenizer:
    tokenizer = _LOADED.get(context.tokenizer_checksum)
    if tokenizer is None:
        from lmio.tokenizer import Tokenizer

        url = Layout(context.out).tokenizer
        tokenizer = Tokenizer.load(url, storage_options=context.storage_options)
        checksum = tokenizer.checksum
        if checksum != context.tokenizer_checksum:
            raise IntegrityError(
                f"{url} has checksum {checksum}, not the {context.tokenizer_checksum} "
                "this run started with; it was replaced while the run went on: rerun prepare"
            )
        _LOADED[context.tokenizer_checksum] = tokenizer
    return tokenizer
