"""The loader's resumable state: where the global sample order stands, and what it was made of.

The state is O(1): the epoch, the global position inside it (samples consumed by all ranks
together), and the settings and dataset shapes that fix the order, so that loading it into a
loader built differently is refused with the difference named rather than silently giving
other batches. batch_size and world_size are not part of it: a run may resume with others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from lmio.errors import FormatError, InvalidArgumentError

__all__ = ["STATE_FORMAT", "STATE_VERSION", "LoaderState"]

STATE_FORMAT = "lmio.loader"
STATE_VERSION = 1


@dataclass(frozen=True)
class LoaderState:
    epoch: int
    position: int
    # What fixes the order: seed, packing, seq_len, shuffle, shuffle_window, the mixture's
    # quotas and samples per epoch, and per source its sample count and a digest of its counts.
    order: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "epoch": self.epoch,
            "position": self.position,
            "order": self.order,
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any], *, expected_order: dict[str, Any]) -> LoaderState:
        """Validate a dict from `to_dict` against the order this loader would produce."""
        if not isinstance(state, Mapping) or state.get("format") != STATE_FORMAT:
            raise FormatError(
                f"not a TokenLoader state (format {_get(state, 'format')!r}, expected "
                f"{STATE_FORMAT!r}): pass what TokenLoader.state_dict() returned"
            )
        if state.get("version") != STATE_VERSION:
            raise FormatError(
                f"TokenLoader state version {state.get('version')!r} is not supported; this "
                f"lmio reads version {STATE_VERSION}: resume with the lmio that saved it"
            )
        epoch, position, order = state.get("epoch"), state.get("position"), state.get("order")
        if not (_is_count(epoch) and _is_count(position) and isinstance(order, Mapping)):
            raise FormatError(
                f"TokenLoader state is damaged: epoch {epoch!r}, position {position!r} must be "
                "integers >= 0 and order a mapping"
            )
        for key, expected in expected_order.items():
            if order.get(key) != expected:
                raise InvalidArgumentError(
                    f"this TokenLoader state was saved with {key} = {order.get(key)!r}, but this "
                    f"loader has {key} = {expected!r}: resume with the same dataset and "
                    "settings (batch_size and world_size may change)"
                )
        total = expected_order["samples_per_epoch"]
        if position > total:
            raise FormatError(
                f"TokenLoader state position {position} is past the end of the epoch "
                f"({total} samples): the state is damaged"
            )
        return cls(epoch, position, dict(order))


def _is_count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _get(state: object, key: str) -> object:
    return state.get(key) if isinstance(state, Mapping) else type(state).__name__
