"""Byte-level readers for the fast DWARF reader: LEB128 numbers, C strings, and its two errors.

The errors say what the caller does next: `Unsupported` falls back to pyelftools for the unit,
`Corrupt` skips it.
"""

from __future__ import annotations


class Unsupported(Exception):
    """Something this reader does not handle: the caller falls back to pyelftools for the CU."""


class Corrupt(Exception):
    """Broken DWARF data: the CU is skipped (pyelftools is not tried: it may loop on crafted input)."""


def uleb(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift > 63:  # without this, a run of 0xff bytes builds ever bigger ints: quadratic time
            raise Corrupt("LEB128 number longer than 64 bits")


def sleb(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            if b & 0x40:
                result -= 1 << shift
            return result, pos
        if shift > 63:
            raise Corrupt("LEB128 number longer than 64 bits")


def cstring(data: bytes, pos: int) -> str:
    end = data.find(b"\0", pos)
    if end < 0:
        raise Corrupt("unterminated string")
    return data[pos:end].decode("utf-8", "replace")
