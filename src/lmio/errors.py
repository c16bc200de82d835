"""lmio's errors: one `LmioError` tree.

Every message says what was wrong, shows the offending value and says what to do. The
subclasses also derive from the built-in exception a caller would expect (`ValueError`,
`FileNotFoundError`, `OSError`), so generic handlers keep working.
"""

from __future__ import annotations

__all__ = [
    "DataError",
    "FormatError",
    "IntegrityError",
    "InvalidArgumentError",
    "LmioError",
    "NotFoundError",
    "SpecialTokenError",
    "StorageError",
]


class LmioError(Exception):
    """Base of every error lmio raises on purpose."""


class InvalidArgumentError(LmioError, ValueError):
    """An option or argument has a value lmio cannot use."""


class SpecialTokenError(InvalidArgumentError):
    """Text contains a special token that the call did not allow."""


class NotFoundError(LmioError, FileNotFoundError):
    """A file, object or dataset named by the caller does not exist."""


class DataError(LmioError):
    """Input data cannot be used as it is (invalid encoding, malformed records, empty corpus)."""


class FormatError(DataError):
    """A file lmio wrote or reads is not in a format or version this lmio understands."""


class IntegrityError(FormatError):
    """Bytes read back do not match the checksum recorded when they were written."""


class StorageError(LmioError, OSError):
    """A storage backend kept failing after retries, or refused the request."""
