"""Thrift's compact protocol, the encoding of Parquet page headers and footers: the writing side.

A struct is given as `(field id, type, value)` triples in increasing id order; a value of
None leaves its field out. Values by type: BOOL a bool, BYTE / I16 / I32 / I64 an int,
BINARY bytes, LIST `(element type, items)`, STRUCT a list of triples (an empty one is an
empty struct, as Parquet's unions and marker structs use).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "BINARY",
    "BOOL_FALSE",
    "BOOL_TRUE",
    "BYTE",
    "DOUBLE",
    "I16",
    "I32",
    "I64",
    "LIST",
    "MAP",
    "SET",
    "STRUCT",
    "Field",
    "encode_struct",
]

# The compact protocol's type codes (a bool field's type carries its value).
BOOL_TRUE, BOOL_FALSE, BYTE, I16, I32, I64, DOUBLE, BINARY, LIST, SET, MAP, STRUCT = range(1, 13)
BOOL = BOOL_TRUE  # as a field's declared type; the encoding picks TRUE or FALSE

Field = tuple[int, int, Any]


def encode_struct(fields: Sequence[Field]) -> bytes:
    out = bytearray()
    _struct(out, fields)
    return bytes(out)


def _struct(out: bytearray, fields: Sequence[Field]) -> None:
    last = 0
    for field_id, declared, value in fields:
        if value is None:
            continue
        if field_id <= last:
            raise ValueError(f"Thrift field ids must increase: {field_id} after {last}")
        kind = declared
        if declared == BOOL_TRUE:
            kind = BOOL_TRUE if value else BOOL_FALSE
        delta = field_id - last
        if delta <= 15:
            out.append(delta << 4 | kind)
        else:
            out.append(kind)
            _varint(out, _zigzag(field_id))
        if kind not in (BOOL_TRUE, BOOL_FALSE):
            _value(out, kind, value)
        last = field_id
    out.append(0)  # stop


def _value(out: bytearray, kind: int, value: Any) -> None:
    if kind == BYTE:
        out.append(value & 0xFF)
    elif kind in (I16, I32, I64):
        _varint(out, _zigzag(value))
    elif kind == BINARY:
        _varint(out, len(value))
        out += value
    elif kind == LIST:
        element, items = value
        if len(items) < 15:
            out.append(len(items) << 4 | element)
        else:
            out.append(0xF0 | element)
            _varint(out, len(items))
        for item in items:
            if element in (BOOL_TRUE, BOOL_FALSE):
                out.append(BOOL_TRUE if item else BOOL_FALSE)
            else:
                _value(out, element, item)
    elif kind == STRUCT:
        _struct(out, value)
    else:
        raise ValueError(f"cannot write Thrift type {kind}")


def _varint(out: bytearray, value: int) -> None:
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)


def _zigzag(value: int) -> int:
    return (value << 1) ^ (value >> 63)
