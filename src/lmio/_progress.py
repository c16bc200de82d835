"""Progress bars for long work: shown on a terminal, silent when stderr is piped."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["Progress", "progress_enabled"]


def progress_enabled(show: bool | None) -> bool:
    """`show=None` means: only when stderr is a terminal."""
    if show is None:
        return sys.stderr.isatty()
    return show


class Progress:
    """A thin wrapper over tqdm that costs nothing when disabled.

    Use as a context manager and call `update(n)`, or wrap an iterable with `iterate`.
    """

    def __init__(
        self,
        *,
        desc: str,
        total: float | None = None,
        unit: str = "it",
        unit_scale: bool = False,
        show: bool | None = None,
    ) -> None:
        self._bar: Any = None
        if progress_enabled(show):
            from tqdm.auto import tqdm

            self._bar = tqdm(
                desc=desc,
                total=total,
                unit=unit,
                unit_scale=unit_scale,
                dynamic_ncols=True,
                leave=False,
                file=sys.stderr,
            )

    def update(self, n: float = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def set_postfix(self, **values: Any) -> None:
        if self._bar is not None:
            self._bar.set_postfix(values, refresh=False)

    def iterate(self, items: Iterable[T]) -> Iterator[T]:
        for item in items:
            yield item
            self.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
