"""Conversion to and from `tiktoken.Encoding` (same ranks, special tokens and pattern)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lmio.errors import InvalidArgumentError

if TYPE_CHECKING:
    import tiktoken

    from lmio.tokenizer._tokenizer import Tokenizer

__all__ = ["from_tiktoken", "to_tiktoken"]


def to_tiktoken(tok: Tokenizer) -> tiktoken.Encoding:
    try:
        import tiktoken
    except ImportError:
        raise InvalidArgumentError(
            "to_tiktoken needs the tiktoken package: pip install tiktoken"
        ) from None
    return tiktoken.Encoding(
        tok.name,
        pat_str=tok.pattern,
        mergeable_ranks=tok.mergeable_ranks,
        special_tokens=tok.special_tokens,
    )


def from_tiktoken(encoding: tiktoken.Encoding) -> Tokenizer:
    from lmio.tokenizer._tokenizer import Tokenizer

    ranks: dict[bytes, int] = encoding._mergeable_ranks
    tokens: list[bytes | None] = [None] * len(ranks)
    for token, rank in ranks.items():
        if not 0 <= rank < len(ranks) or tokens[rank] is not None:
            raise InvalidArgumentError(
                f"encoding {encoding.name!r} has non-contiguous or repeated ranks (rank {rank}); "
                "lmio needs ordinary token ids 0..n-1"
            )
        tokens[rank] = token
    return Tokenizer(
        [token for token in tokens if token is not None],
        special_tokens=dict(encoding._special_tokens),
        pattern=encoding._pat_str,
        name=encoding.name,
    )
