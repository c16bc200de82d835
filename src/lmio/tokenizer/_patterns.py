"""Pre-tokenization patterns: the named ones (with hand-written scanners in the C core) and custom.

Each named pattern is the exact regular expression its tokenizer family uses; the C scanners
must split text exactly as this regex does under tiktoken's engine (the tests fuzz them).
"""

from __future__ import annotations

from dataclasses import dataclass

from lmio.errors import InvalidArgumentError

__all__ = ["NAMED_PATTERNS", "Pattern", "resolve_pattern"]

GPT2 = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
GPT4 = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
O200K = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
LLAMA3 = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
    r"""|\s*[\r\n]+|\s+(?!\S)|\s+"""
)


@dataclass(frozen=True)
class Pattern:
    """A pre-tokenization pattern: its regex and, for named ones, the C scanner's id."""

    regex: str
    name: str | None = None
    native_id: int | None = None

    def describe(self) -> str:
        return self.name if self.name is not None else f"custom regex {self.regex!r}"


# The native ids are the scanner numbers in csrc/pretokenize.h; keep them in sync.
NAMED_PATTERNS: dict[str, Pattern] = {
    "gpt2": Pattern(GPT2, "gpt2", 0),
    "gpt4": Pattern(GPT4, "gpt4", 1),
    "o200k": Pattern(O200K, "o200k", 2),
    "llama3": Pattern(LLAMA3, "llama3", 3),
}
_ALIASES = {
    "r50k": "gpt2",
    "r50k_base": "gpt2",
    "cl100k": "gpt4",
    "cl100k_base": "gpt4",
    "o200k_base": "o200k",
}


def resolve_pattern(pattern: str) -> Pattern:
    """A name (`gpt2`, `gpt4`, `o200k`, `llama3`, or a tiktoken alias) or any regex.

    A regex that equals a named pattern's gets that pattern's fast scanner.
    """
    name = _ALIASES.get(pattern, pattern)
    if name in NAMED_PATTERNS:
        return NAMED_PATTERNS[name]
    for named in NAMED_PATTERNS.values():
        if named.regex == pattern:
            return named
    import regex

    try:
        regex.compile(pattern)
    except regex.error as exc:
        raise InvalidArgumentError(
            f"pattern {pattern!r} is neither a named pattern ({', '.join(NAMED_PATTERNS)}) "
            f"nor a valid regular expression: {exc}"
        ) from None
    if regex.match(pattern, "") is not None:
        raise InvalidArgumentError(
            f"pattern {pattern!r} matches the empty string, so it cannot split text into pieces; "
            "make every alternative consume at least one character"
        )
    return Pattern(pattern)
