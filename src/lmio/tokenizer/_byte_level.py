"""GPT-2's byte-level alphabet: every byte as a printable character.

HF tokenizer.json files spell token bytes in this alphabet, and HF's BPE trainer numbers the
256 initial tokens by these characters' code points. lmio numbers its initial tokens the same
way, so its ids equal HF's for tokenizers trained by either.
"""

from __future__ import annotations

from functools import cache

__all__ = ["BYTE_ORDER", "bytes_to_unicode", "decode_byte_level", "encode_byte_level"]


@cache
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's map: printable Latin-1 bytes stand for themselves, the other 68 move to U+0100+."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    mapping = {b: chr(b) for b in printable}
    shifted = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + shifted)
            shifted += 1
    return mapping


@cache
def _unicode_to_bytes() -> dict[str, int]:
    return {char: byte for byte, char in bytes_to_unicode().items()}


def encode_byte_level(data: bytes) -> str:
    table = bytes_to_unicode()
    return "".join(table[b] for b in data)


def decode_byte_level(text: str) -> bytes:
    """Inverse of `encode_byte_level`; raises KeyError on a character outside the alphabet."""
    table = _unicode_to_bytes()
    return bytes(table[c] for c in text)


# The 256 initial token ids in HF's order: BYTE_ORDER[i] is the byte value of token i.
BYTE_ORDER: bytes = bytes(sorted(range(256), key=lambda b: ord(bytes_to_unicode()[int(b)])))
