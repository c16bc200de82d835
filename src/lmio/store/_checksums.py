"""Checksums as lmio records them: `<algorithm>:<hex>` (a bare hex string is sha256).

Files others may check (shards, checkpoints) get sha256. What lmio alone writes and reads
back (a run's work files, the byte ranges of row groups) gets XXH3-128, `xxh3-128:<hex>` (the
dedup digest of csrc/digest.h, hex as xxhash's xxh3_128_hexdigest): it only has to catch
damage, and it hashes at several GB/s where sha256 takes a fifth of the writer's time."""

from __future__ import annotations

import hashlib
from typing import Any

from lmio.errors import FormatError

__all__ = ["XXH3", "Checksum", "new_hasher"]

XXH3 = "xxh3-128"
_ALGORITHMS = frozenset({"sha256", "sha512", "sha1", "md5", "blake2b", "blake2s", XXH3})


class _Xxh3:
    """XXH3-128 with the part of hashlib's interface lmio uses."""

    def __init__(self) -> None:
        from lmio.tokenizer import _native

        self._digest = _native.Digest()

    def update(self, data: Any) -> None:
        self._digest.update(data)

    def hexdigest(self) -> str:
        return self._digest.digest().hex()


def new_hasher(algorithm: str) -> Any:
    """A running hash of `algorithm` (hashlib's names, or "xxh3-128")."""
    return _Xxh3() if algorithm == XXH3 else hashlib.new(algorithm)


class Checksum:
    """A recorded checksum, and a running hash of bytes to compare with it."""

    def __init__(self, recorded: str) -> None:
        algorithm, sep, digest = recorded.partition(":")
        if not sep:
            algorithm, digest = "sha256", recorded
        algorithm = algorithm.lower()
        if algorithm not in _ALGORITHMS or not digest or not _is_hex(digest):
            raise FormatError(
                f"cannot read the checksum {recorded!r}: lmio records `sha256:<hex digits>` "
                "or `xxh3-128:<hex digits>`"
            )
        self.recorded = recorded
        self.algorithm = algorithm
        self.digest = digest.lower()

    def hasher(self) -> Any:
        return new_hasher(self.algorithm)

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
