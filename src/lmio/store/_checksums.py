"""Checksums as lmio records them: `sha256:<hex>` (a bare 64-digit hex string is sha256 too)."""

from __future__ import annotations

import hashlib
from typing import Any

from lmio.errors import FormatError

__all__ = ["Checksum"]

_ALGORITHMS = frozenset({"sha256", "sha512", "sha1", "md5", "blake2b", "blake2s"})


class Checksum:
    """A recorded checksum, and a running hash of bytes to compare with it."""

    def __init__(self, recorded: str) -> None:
        algorithm, sep, digest = recorded.partition(":")
        if not sep:
            algorithm, digest = "sha256", recorded
        algorithm = algorithm.lower()
        if algorithm not in _ALGORITHMS or not digest or not _is_hex(digest):
            raise FormatError(
                f"cannot read the checksum {recorded!r}: lmio records `sha256:<hex digits>`"
            )
        self.recorded = recorded
        self.algorithm = algorithm
        self.digest = digest.lower()

    def hasher(self) -> Any:
        return hashlib.new(self.algorithm)

    def matches(self, hasher: Any) -> bool:
        return bool(hasher.hexdigest() == self.digest)

    def format(self, hasher: Any) -> str:
        """`hasher`'s digest written the way this checksum is: `sha256:<hex>`."""
        return f"{self.algorithm}:{hasher.hexdigest()}"


def _is_hex(text: str) -> bool:
    try:
        int(text, 16)
    except ValueError:
        return False
    return True
