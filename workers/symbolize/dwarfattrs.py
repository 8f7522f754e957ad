"""A DIE's wanted attribute values resolved against the other sections: strings, addresses, address ranges.

dwarfforms.form_value leaves what lives elsewhere tagged (("strp", offset), ("addrx", index) ...); these
look it up in .debug_str, .debug_addr, .debug_ranges or .debug_rnglists, using the unit's DWARF 5 bases.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .dwarfbytes import Unsupported, cstring, uleb
from .dwarfcodes import AT_HIGH_PC, AT_LOW_PC, AT_RANGES, CONSTANT_FORMS

if TYPE_CHECKING:
    from .dwarfunit import _CU


def attr_str(cu: _CU, value: Any) -> str:
    if isinstance(value, str):
        return value
    if not isinstance(value, tuple):
        return ""
    kind, v = value
    s = cu.fd.s
    if kind == "strp":
        return cstring(s.get(".debug_str", b""), v)
    if kind == "line_strp":
        return cstring(s.get(".debug_line_str", b""), v)
    if kind == "strx":
        table = s.get(".debug_str_offsets", b"")
        off = cu.fd._uint(table, cu.str_offsets_base + v * cu.off_size, cu.off_size)
        return cstring(s.get(".debug_str", b""), off)
    return ""


def attr_addr(cu: _CU, value: Any) -> int:
    if isinstance(value, tuple):
        if value[0] != "addrx":
            raise Unsupported("address form")
        table = cu.fd.s.get(".debug_addr", b"")
        return cu.fd._uint(table, cu.addr_base + value[1] * cu.addr_size, cu.addr_size)
    return int(value)


def die_ranges(cu: _CU, attrs: dict[int, Any], cu_base: int) -> list[tuple[int, int]]:
    """The DIE's code as [(low, high)]: from low_pc/high_pc, else from its range list, else none."""
    if AT_LOW_PC in attrs and AT_HIGH_PC in attrs:
        lo = attr_addr(cu, attrs[AT_LOW_PC][1])
        form, hv = attrs[AT_HIGH_PC]
        hi = lo + hv if form in CONSTANT_FORMS else attr_addr(cu, hv)
        return [(lo, hi)] if hi > lo else []
    if AT_RANGES in attrs:
        _form, v = attrs[AT_RANGES]
        if cu.version >= 5:
            return rnglist(cu, v, cu_base)
        return ranges_v4(cu, v, cu_base)
    return []


def ranges_v4(cu: _CU, offset: int, base: int) -> list[tuple[int, int]]:
    data = cu.fd.s.get(".debug_ranges", b"")
    n = cu.addr_size
    top = (1 << (8 * n)) - 1
    out = []
    pos = offset
    while pos + 2 * n <= len(data):
        a = cu.fd._uint(data, pos, n)
        b = cu.fd._uint(data, pos + n, n)
        pos += 2 * n
        if a == 0 and b == 0:
            break
        if a == top:
            base = b
            continue
        if b > a:
            out.append((base + a, base + b))
    return out


def rnglist(cu: _CU, value: Any, base: int) -> list[tuple[int, int]]:
    data = cu.fd.s.get(".debug_rnglists", b"")
    if isinstance(value, tuple):  # rnglistx: offset table after the header, relative to its base
        offset = cu.rnglists_base + cu.fd._uint(data, cu.rnglists_base + value[1] * cu.off_size,
                                                  cu.off_size)
    else:
        offset = value
    n = cu.addr_size
    u = cu.fd._uint
    out = []
    pos = offset
    while pos < len(data):
        kind = data[pos]
        pos += 1
        if kind == 0:
            break
        if kind == 1:
            i, pos = uleb(data, pos)
            base = attr_addr(cu, ("addrx", i))
        elif kind == 2:
            i, pos = uleb(data, pos)
            j, pos = uleb(data, pos)
            out.append((attr_addr(cu, ("addrx", i)), attr_addr(cu, ("addrx", j))))
        elif kind == 3:
            i, pos = uleb(data, pos)
            ln, pos = uleb(data, pos)
            a = attr_addr(cu, ("addrx", i))
            out.append((a, a + ln))
        elif kind == 4:
            a, pos = uleb(data, pos)
            b, pos = uleb(data, pos)
            out.append((base + a, base + b))
        elif kind == 5:
            base = u(data, pos, n)
            pos += n
        elif kind == 6:
            a, b = u(data, pos, n), u(data, pos + n, n)
            pos += 2 * n
            out.append((a, b))
        elif kind == 7:
            a = u(data, pos, n)
            ln, pos = uleb(data, pos + n)
            out.append((a, a + ln))
        else:
            raise Unsupported(f"range list entry {kind}")
    return [(a, b) for a, b in out if b > a]
