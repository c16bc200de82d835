"""HF `tokenizer.json` for byte-level BPE: write one HF encodes identically with, read GPT-2-style ones.

lmio encodes like tiktoken: a token's id is its merge priority and a piece that is a whole
token is not split. HF merges by the rank of the *pair* in its merge list. Listing every
valid split of every token, ordered by the merged token's id, plus `ignore_merges`, makes HF
behave like tiktoken (the construction transformers' TikTokenConverter uses).
"""

from __future__ import annotations

import itertools
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmio.errors import FormatError, InvalidArgumentError
from lmio.store import read_bytes, write_bytes_atomic
from lmio.tokenizer._byte_level import decode_byte_level, encode_byte_level
from lmio.tokenizer._patterns import GPT2, NAMED_PATTERNS, resolve_pattern

if TYPE_CHECKING:
    from lmio.tokenizer._tokenizer import Tokenizer

__all__ = ["from_hf", "save_hf"]


# A bounded quantifier followed by '+': possessive in tiktoken's engine and the `regex`
# module, but "repeat the bounded repeat" in HF's Oniguruma (Ruby syntax).
_BOUNDED_THEN_PLUS = re.compile(r"\{\d+(?:,\d*)?\}\+")


def to_oniguruma(pattern: str) -> str:
    """`pattern` spelled so that HF's Oniguruma splits text as tiktoken's engine does.

    The named patterns' only such construct is gpt4's `\\p{N}{1,3}+`, a whole alternative,
    where possessiveness cannot change a match: there it is simply dropped. A custom pattern
    with one is refused rather than exported with a different meaning.
    """
    named = resolve_pattern(pattern)
    if named.name is not None:
        return _BOUNDED_THEN_PLUS.sub(lambda m: m.group(0)[:-1], named.regex)
    if _BOUNDED_THEN_PLUS.search(pattern):
        raise InvalidArgumentError(
            f"pattern {pattern!r} has a possessive bounded quantifier such as {{1,3}}+, which "
            "HF tokenizers (Oniguruma) reads as a nested repeat; write it as an atomic group "
            "(?>...{1,3}) to export it"
        )
    return pattern


def from_oniguruma(pattern: str, where: str) -> str:
    """The inverse of `to_oniguruma`: a named pattern's HF spelling becomes that pattern."""
    for named in NAMED_PATTERNS.values():
        if pattern == to_oniguruma(named.regex):
            return named.regex
    if _BOUNDED_THEN_PLUS.search(pattern):
        raise FormatError(
            f"{where}: its split pattern {pattern!r} repeats a bounded quantifier ({{n,m}}+), "
            "which Oniguruma and lmio's regex engines read differently; lmio cannot "
            "reproduce it"
        )
    return pattern


def _all_splits(tok: Tokenizer) -> list[tuple[int, int]]:
    ranks = tok.mergeable_ranks
    merges: list[tuple[int, int, int]] = []
    for token_id, token in enumerate(tok.tokens):
        for cut in range(1, len(token)):
            left, right = ranks.get(token[:cut]), ranks.get(token[cut:])
            if left is not None and right is not None:
                merges.append((token_id, left, right))
    merges.sort()
    return [(left, right) for _, left, right in merges]


def hf_json(tok: Tokenizer) -> dict[str, Any]:
    vocab = {encode_byte_level(token): i for i, token in enumerate(tok.tokens)}
    spelled = [encode_byte_level(token) for token in tok.tokens]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {
                "id": token_id,
                "content": text,
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
                "special": True,
            }
            for text, token_id in sorted(tok.special_tokens.items(), key=lambda kv: kv[1])
        ],
        "normalizer": None,
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {
                    "type": "Split",
                    "pattern": {"Regex": to_oniguruma(tok.pattern)},
                    "behavior": "Isolated",
                    "invert": False,
                },
                {
                    "type": "ByteLevel",
                    "add_prefix_space": False,
                    "trim_offsets": True,
                    "use_regex": False,
                },
            ],
        },
        "post_processor": {
            "type": "ByteLevel",
            "add_prefix_space": True,
            "trim_offsets": False,
            "use_regex": True,
        },
        "decoder": {
            "type": "ByteLevel",
            "add_prefix_space": True,
            "trim_offsets": True,
            "use_regex": True,
        },
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": True,
            "vocab": vocab,
            "merges": [[spelled[left], spelled[right]] for left, right in _all_splits(tok)],
        },
    }


def save_hf(tok: Tokenizer, path: str | os.PathLike[str]) -> None:
    """`path` is a `.json` file, or a directory that gets `tokenizer.json` and `tokenizer_config.json`."""
    target = Path(path)
    data = json.dumps(hf_json(tok), ensure_ascii=False).encode("utf-8")
    if target.suffix == ".json":
        write_bytes_atomic(target, data)
        return
    write_bytes_atomic(target / "tokenizer.json", data)
    config: dict[str, Any] = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "clean_up_tokenization_spaces": False,
        "model_max_length": 1_000_000_000,
    }
    if tok.eos_id is not None:
        config["eos_token"] = "<|endoftext|>"
        config["bos_token"] = "<|endoftext|>"
    write_bytes_atomic(target / "tokenizer_config.json", json.dumps(config, indent=2).encode())


def from_hf(path: str | os.PathLike[str]) -> Tokenizer:
    from lmio.tokenizer._tokenizer import Tokenizer

    source = Path(path)
    if source.is_dir():
        source = source / "tokenizer.json"
    where = str(source)
    try:
        body = json.loads(read_bytes(source))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise FormatError(f"{where} is not valid JSON; expected an HF tokenizer.json") from None
    model = body.get("model") if isinstance(body, dict) else None
    if not isinstance(model, dict) or model.get("type") != "BPE":
        kind = model.get("type") if isinstance(model, dict) else None
        raise FormatError(f"{where} holds a {kind or 'non-BPE'} model; lmio reads byte-level BPE")
    for field, expected in (("byte_fallback", False), ("dropout", None), ("unk_token", None)):
        if model.get(field, expected) not in (expected, False):
            raise FormatError(
                f"{where} sets model.{field}={model.get(field)!r}; lmio reads byte-level BPE "
                "without it (SentencePiece-style tokenizers are not byte-level)"
            )
    if body.get("normalizer") is not None:
        raise FormatError(
            f"{where} has a normalizer ({body['normalizer'].get('type')}); lmio reads byte-level "
            "BPE tokenizers that encode the raw text"
        )
    pattern = from_oniguruma(_pattern_of(body.get("pre_tokenizer"), where), where)

    added = {t["content"]: int(t["id"]) for t in body.get("added_tokens", [])}
    added_ids = set(added.values())
    by_id: dict[int, bytes] = {}
    try:
        for text, token_id in model["vocab"].items():
            if token_id not in added_ids:
                by_id[int(token_id)] = decode_byte_level(text)
    except KeyError as exc:
        raise FormatError(
            f"{where} has a vocabulary entry outside the byte-level alphabet ({exc}); "
            "lmio reads byte-level BPE tokenizers only"
        ) from None
    if sorted(by_id) != list(range(len(by_id))):
        raise FormatError(f"{where}: ordinary token ids are not 0..{len(by_id) - 1} without gaps")
    tokens = [by_id[i] for i in range(len(by_id))]
    merges = [_pair(m) for m in model.get("merges", [])]
    ranks = {token: i for i, token in enumerate(tokens)}
    merged_ids = []
    for left, right in merges:
        merged = ranks.get(decode_byte_level(left) + decode_byte_level(right))
        if merged is None:
            raise FormatError(
                f"{where}: merge {left!r} + {right!r} makes no token in the vocabulary"
            )
        merged_ids.append(merged)
    if any(b < a for a, b in itertools.pairwise(merged_ids)):
        raise FormatError(
            f"{where}: its merge order differs from its token ids; lmio encodes with "
            "id == merge priority (tiktoken's rule) and cannot reproduce this tokenizer"
        )
    return Tokenizer(tokens, special_tokens=added, pattern=pattern, name=source.parent.name or "hf")


def _pair(merge: Any) -> tuple[str, str]:
    if isinstance(merge, str):
        left, right = merge.split(" ", 1)
        return left, right
    return str(merge[0]), str(merge[1])


def _pattern_of(pre_tokenizer: Any, where: str) -> str:
    """The split regex of a ByteLevel (GPT-2) or Sequence[Split, ByteLevel] pre-tokenizer."""
    steps = (
        pre_tokenizer.get("pretokenizers", [])
        if isinstance(pre_tokenizer, dict) and pre_tokenizer.get("type") == "Sequence"
        else [pre_tokenizer]
    )
    pattern: str | None = None
    byte_level = False
    for step in steps:
        kind = step.get("type") if isinstance(step, dict) else None
        if kind == "ByteLevel":
            if step.get("add_prefix_space", False):
                raise FormatError(
                    f"{where}: ByteLevel add_prefix_space=true prepends a space to every text, "
                    "which lmio does not do; set it to false in the file if that is acceptable"
                )
            byte_level = True
            if step.get("use_regex", True):
                pattern = GPT2 if pattern is None else pattern
        elif kind == "Split" and "Regex" in step.get("pattern", {}):
            if step.get("behavior") != "Isolated" or step.get("invert"):
                raise FormatError(f"{where}: lmio reads Split pre-tokenizers that isolate matches")
            pattern = step["pattern"]["Regex"]
        else:
            raise FormatError(f"{where}: unsupported pre-tokenizer step {kind!r}")
    if not byte_level or pattern is None:
        raise FormatError(f"{where} is not a byte-level BPE tokenizer (no ByteLevel pre-tokenizer)")
    return pattern
