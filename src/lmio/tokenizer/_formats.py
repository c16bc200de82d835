"""lmio's own tokenizer file: versioned JSON with a checksum over its content."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import os
import string
import sys
from typing import TYPE_CHECKING, Any

from lmio.errors import FormatError, IntegrityError, LmioError
from lmio.store import read_bytes, write_bytes_atomic

if TYPE_CHECKING:
    from lmio.tokenizer._tokenizer import Tokenizer

__all__ = [
    "FORMAT",
    "VERSION",
    "canonical_body",
    "from_body",
    "load",
    "parse",
    "save",
    "unchecked_tokenizer",
]

FORMAT = "lmio.tokenizer"
VERSION = 1

_BASE64_ALPHABET = (string.ascii_letters + string.digits + "+/=").encode()


def _body(tok: Tokenizer) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "name": tok.name,
        "pattern": {"name": tok.pattern_name, "regex": tok.pattern},
        "special_tokens": tok.special_tokens,
        "tokens": [base64.b64encode(token).decode("ascii") for token in tok.tokens],
        "merges": [list(pair) for pair in tok.merges] if tok.merges is not None else None,
    }


def canonical_body(tok: Tokenizer) -> bytes:
    """The bytes the checksum covers: every field but the checksum, in a canonical spelling."""
    return _canonical(_body(tok))


def _canonical(body: dict[str, Any]) -> bytes:
    """`json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)`, encoded.
    The long list of base64 tokens is joined directly: strings of the base64 alphabet dump as
    themselves in quotes, and dumping them one by one was most of the time."""
    tokens = body.get("tokens")
    if not _base64_strings(tokens):
        return _dump(body).encode()
    fields = [
        _dump(key)
        + ":"
        + (
            ('["' + '","'.join(tokens) + '"]' if tokens else "[]")
            if key == "tokens"
            else _dump(body[key])
        )
        for key in sorted(body)
    ]
    return ("{" + ",".join(fields) + "}").encode()


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _base64_strings(items: Any) -> bool:
    """Whether `items` is a list of strings of the base64 alphabet only."""
    if not isinstance(items, list):
        return False
    try:
        joined = "".join(items)
    except TypeError:
        return False
    return joined.isascii() and not joined.encode().translate(None, _BASE64_ALPHABET)


def _decode_tokens(tokens: list[Any]) -> list[bytes]:
    """The tokens' bytes from their base64 strings; anything but strict base64 is refused."""
    if sys.version_info >= (3, 11):  # 3x faster than base64.b64decode
        decode = functools.partial(binascii.a2b_base64, strict_mode=True)
        return list(map(decode, tokens))
    return [base64.b64decode(token, validate=True) for token in tokens]


def save(
    tok: Tokenizer, path: str | os.PathLike[str], *, storage_options: dict[str, Any] | None
) -> None:
    body = _body(tok)
    body["checksum"] = tok.checksum
    # One top-level field per line; the long arrays stay on one line each.
    fields = [
        f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False, separators=(',', ':'))}"
        for key, value in body.items()
    ]
    data = ("{\n" + ",\n".join(fields) + "\n}\n").encode("utf-8")
    write_bytes_atomic(path, data, storage_options=storage_options)


def load(path: str | os.PathLike[str], *, storage_options: dict[str, Any] | None) -> Tokenizer:
    where = os.fspath(path)
    return from_body(parse(read_bytes(path, storage_options=storage_options), where), where)


def parse(raw: bytes, where: str) -> Any:
    """The JSON of a tokenizer file's bytes; FormatError when it is not JSON."""
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise FormatError(
            f"{where} is not valid JSON (truncated or not a tokenizer file); "
            "restore it or train it again with `lmio tokenizer train`"
        ) from None


def from_body(body: Any, where: str, *, built: Tokenizer | None = None) -> Tokenizer:
    """The tokenizer of a parsed tokenizer file (`body` is left as it was), checked: its
    format, version and checksum. `built` is what `unchecked_tokenizer` made of this body
    while it was being checked: it gets its merges and is returned, not built again."""
    from lmio.tokenizer._tokenizer import Tokenizer, merge_pairs

    if isinstance(body, dict):
        body = dict(body)  # the checksum is popped from a copy
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        hint = (
            "it looks like an HF tokenizer.json: use Tokenizer.from_hf"
            if isinstance(body, dict) and "model" in body
            else "expected a file written by Tokenizer.save or `lmio tokenizer train`"
        )
        raise FormatError(f"{where} is not an lmio tokenizer file; {hint}")
    version = body.get("version")
    if version != VERSION:
        raise FormatError(
            f"{where} has tokenizer format version {version!r}, but this lmio reads version "
            f"{VERSION}; open it with the lmio release that wrote it (or a newer one)"
        )
    recorded = body.pop("checksum", None)
    try:
        merges = merge_pairs(body["merges"]) if body["merges"] is not None else None
        parts = _parts(body) if built is None else None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise FormatError(f"{where} is missing or has a malformed field ({exc})") from None
    actual = "sha256:" + hashlib.sha256(_canonical(body)).hexdigest()
    if recorded != actual:
        raise IntegrityError(
            f"{where} does not match its checksum (recorded {recorded}, content {actual}): "
            "it was changed or damaged after it was written; restore it or train it again"
        )
    if built is not None:
        built._add_checked_merges(merges)
        return built
    assert parts is not None  # made above when nothing was built
    tokens, special_tokens, pattern, name = parts
    return Tokenizer(
        tokens, special_tokens=special_tokens, pattern=pattern, merges=merges, name=name
    )


def unchecked_tokenizer(body: Any) -> Tokenizer | None:
    """A tokenizer of a parsed file's tokens, special tokens, pattern and name, before its
    merges are read or anything is checked: to encode with while `from_body(body,
    built=...)` checks the file, for work that is kept only once that passes. None where the
    body is not well formed (`from_body` then says what is wrong)."""
    from lmio.tokenizer._tokenizer import Tokenizer

    try:
        tokens, special_tokens, pattern, name = _parts(body)
        return Tokenizer(tokens, special_tokens=special_tokens, pattern=pattern, name=name)
    except (LmioError, KeyError, TypeError, ValueError, AttributeError):
        return None


def _parts(body: dict[str, Any]) -> tuple[list[bytes], dict[str, int], str, str]:
    """The tokens, special tokens, pattern and name of a parsed file."""
    tokens = _decode_tokens(body["tokens"])
    special_tokens = {str(k): int(v) for k, v in body["special_tokens"].items()}
    return tokens, special_tokens, body["pattern"]["regex"], str(body["name"])
