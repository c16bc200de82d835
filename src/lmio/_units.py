"""Human-readable sizes and rates, parsed and printed the same way everywhere."""

from __future__ import annotations

import re

from lmio.errors import InvalidArgumentError

__all__ = ["format_bytes", "format_count", "format_duration", "parse_size"]

_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgtp]?)(i?)(b?)\s*$", re.IGNORECASE)
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}


def parse_size(value: str | int, *, what: str = "size") -> int:
    """Parse `128MB`, `1.5GiB`, `64k` or a plain byte count into bytes.

    Decimal prefixes (kB, MB, GB) are powers of 1000 and binary ones (KiB, MiB, GiB) of 1024;
    a bare `k`/`m`/`g` is decimal too.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise InvalidArgumentError(f"{what} must not be negative, got {value}")
        return value
    match = _SIZE.match(str(value))
    if match is None:
        raise InvalidArgumentError(
            f"cannot read {what} {value!r}: write a number of bytes with an optional unit, "
            "such as 4096, 64kB, 128MB or 1GiB"
        )
    number, prefix, binary, _ = match.groups()
    base = 1024 if binary else 1000
    return int(float(number) * base ** _POWERS[prefix.lower()])


def format_bytes(n: float) -> str:
    """`1234567` -> `1.2 MB` (decimal units, as disks and networks count)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def format_count(n: float) -> str:
    """`1234567` -> `1.23M`."""
    for unit in ("", "k", "M", "G"):
        if abs(n) < 1000 or unit == "G":
            return f"{n:.0f}" if unit == "" else f"{n:.3g}{unit}"
        n /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def format_duration(seconds: float) -> str:
    """`0.0123` -> `12.3 ms`, `75` -> `1m15s`."""
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s"
