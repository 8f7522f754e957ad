"""Attribute forms in a unit's DIEs: decoding one value, and the plan to step over a DIE without decoding.

Most DIEs of a kernel CU (types, variables, parameters, call sites) are only stepped over, so each
abbrev gets a plan once: fixed-size runs of attributes merged into one byte count, and an op only for
what has a variable size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .dwarfbytes import Corrupt, Unsupported, sleb, uleb
from .dwarfcodes import (
    AT_SIBLING,
    F_ADDR,
    F_ADDRX,
    F_ADDRX1,
    F_ADDRX2,
    F_ADDRX3,
    F_ADDRX4,
    F_BLOCK,
    F_BLOCK1,
    F_BLOCK2,
    F_BLOCK4,
    F_DATA1,
    F_DATA2,
    F_DATA4,
    F_DATA8,
    F_DATA16,
    F_EXPRLOC,
    F_FLAG,
    F_FLAG_PRESENT,
    F_GNU_ADDR_INDEX,
    F_GNU_REF_ALT,
    F_GNU_STR_INDEX,
    F_GNU_STRP_ALT,
    F_IMPLICIT_CONST,
    F_INDIRECT,
    F_LINE_STRP,
    F_LOCLISTX,
    F_REF1,
    F_REF2,
    F_REF4,
    F_REF8,
    F_REF_ADDR,
    F_REF_SIG8,
    F_REF_SUP4,
    F_REF_SUP8,
    F_REF_UDATA,
    F_RNGLISTX,
    F_SDATA,
    F_SEC_OFFSET,
    F_STRING,
    F_STRP,
    F_STRP_SUP,
    F_STRX,
    F_STRX1,
    F_STRX2,
    F_STRX3,
    F_STRX4,
    F_UDATA,
    LEB_FORMS,
    REF_FORMS,
    SKIP_BLOCK,
    SKIP_BLOCK1,
    SKIP_BLOCK2,
    SKIP_BLOCK4,
    SKIP_SIBLING,
    SKIP_SLOW,
    SKIP_STRING,
    SKIP_ULEB,
)

if TYPE_CHECKING:
    from .dwarfunit import _CU

Plan = tuple[int, bool, tuple[tuple[int, int], ...]]


def form_value(cu: _CU, form: int, pos: int, ic: int) -> tuple[Any, int]:
    """(value, offset after it) of the attribute of `form` at `pos` of the unit's bytes. Values that
    live in another section come back tagged ("strp", offset), ("addrx", index) ... for dwarfattrs."""
    data = cu.data
    u = cu.fd._uint
    if form in (F_REF4, F_DATA4):
        return u(data, pos, 4), pos + 4
    if form in (F_STRP, F_SEC_OFFSET, F_LINE_STRP):
        v = u(data, pos, cu.off_size)
        if form == F_STRP:
            return ("strp", v), pos + cu.off_size
        if form == F_LINE_STRP:
            return ("line_strp", v), pos + cu.off_size
        return v, pos + cu.off_size
    if form == F_ADDR:
        return u(data, pos, cu.addr_size), pos + cu.addr_size
    if form in (F_DATA1, F_REF1, F_FLAG):
        return data[pos], pos + 1
    if form in (F_DATA2, F_REF2):
        return u(data, pos, 2), pos + 2
    if form in (F_DATA8, F_REF8, F_REF_SIG8):
        return u(data, pos, 8), pos + 8
    if form in (F_UDATA, F_REF_UDATA):
        return uleb(data, pos)
    if form == F_SDATA:
        return sleb(data, pos)
    if form == F_FLAG_PRESENT:
        return 1, pos
    if form == F_IMPLICIT_CONST:
        return ic, pos
    if form == F_STRING:
        end = data.index(b"\0", pos)
        return data[pos:end].decode("utf-8", "replace"), end + 1
    if form in (F_STRX, F_GNU_STR_INDEX):
        v, pos = uleb(data, pos)
        return ("strx", v), pos
    if F_STRX1 <= form <= F_STRX4:
        n = form - F_STRX1 + 1
        return ("strx", u(data, pos, n)), pos + n
    if form in (F_ADDRX, F_GNU_ADDR_INDEX):
        v, pos = uleb(data, pos)
        return ("addrx", v), pos
    if F_ADDRX1 <= form <= F_ADDRX4:
        n = form - F_ADDRX1 + 1
        return ("addrx", u(data, pos, n)), pos + n
    if form == F_RNGLISTX:
        v, pos = uleb(data, pos)
        return ("rnglistx", v), pos
    if form == F_LOCLISTX:
        return uleb(data, pos)
    if form == F_REF_ADDR:
        n = cu.off_size if cu.version >= 3 else cu.addr_size
        return ("ref_addr", u(data, pos, n)), pos + n
    if form in (F_REF_SUP4,):
        return None, pos + 4
    if form in (F_REF_SUP8,):
        return None, pos + 8
    if form in (F_STRP_SUP, F_GNU_REF_ALT, F_GNU_STRP_ALT):
        return None, pos + cu.off_size
    if form == F_DATA16:
        return None, pos + 16
    if form in (F_EXPRLOC, F_BLOCK):
        n, pos = uleb(data, pos)
        return None, pos + n
    if form == F_BLOCK1:
        return None, pos + 1 + data[pos]
    if form == F_BLOCK2:
        return None, pos + 2 + u(data, pos, 2)
    if form == F_BLOCK4:
        return None, pos + 4 + u(data, pos, 4)
    if form == F_INDIRECT:
        real, pos = uleb(data, pos)
        if real == F_INDIRECT:  # a chain of them would recurse until RecursionError
            raise Corrupt("DW_FORM_indirect to DW_FORM_indirect")
        return form_value(cu, real, pos, ic)
    raise Unsupported(f"form {form:#x}")


def fixed_size(form: int, addr_size: int, off_size: int, version: int) -> int | None:
    """Bytes an attribute of `form` takes whatever its value, or None when that depends on the data."""
    if form in (F_DATA1, F_REF1, F_FLAG, F_STRX1, F_ADDRX1):
        return 1
    if form in (F_DATA2, F_REF2, F_STRX2, F_ADDRX2):
        return 2
    if form in (F_STRX3, F_ADDRX3):
        return 3
    if form in (F_DATA4, F_REF4, F_REF_SUP4, F_STRX4, F_ADDRX4):
        return 4
    if form in (F_DATA8, F_REF8, F_REF_SIG8, F_REF_SUP8):
        return 8
    if form == F_DATA16:
        return 16
    if form == F_ADDR:
        return addr_size
    if form in (F_STRP, F_SEC_OFFSET, F_LINE_STRP, F_STRP_SUP, F_GNU_REF_ALT, F_GNU_STRP_ALT):
        return off_size
    if form == F_REF_ADDR:
        return off_size if version >= 3 else addr_size
    if form in (F_FLAG_PRESENT, F_IMPLICIT_CONST):
        return 0
    return None


def skip_plan(cu: _CU, code: int) -> Plan:
    """How to step over a DIE of this abbrev: (tag, has_children, ops), fixed-size runs merged."""
    entry = cu.abbrevs.get(code)
    if entry is None:
        raise Corrupt(f"abbrev code {code}")
    tag, children, specs = entry
    ops: list[tuple[int, int]] = []
    fixed = 0
    for attr, form, _ic in specs:
        size = fixed_size(form, cu.addr_size, cu.off_size, cu.version)
        if attr == AT_SIBLING and form in REF_FORMS:
            op = SKIP_SIBLING
        elif size is not None:
            fixed += size
            continue
        elif form in LEB_FORMS:
            op = SKIP_ULEB
        elif form == F_STRING:
            op = SKIP_STRING
        elif form in (F_EXPRLOC, F_BLOCK):
            op = SKIP_BLOCK
        elif form in (F_BLOCK1, F_BLOCK2, F_BLOCK4):
            op = {F_BLOCK1: SKIP_BLOCK1, F_BLOCK2: SKIP_BLOCK2, F_BLOCK4: SKIP_BLOCK4}[form]
        else:  # indirect or unknown: decode the DIE the slow way (which refuses unknown forms)
            op = SKIP_SLOW
        if fixed:
            ops.append((fixed, 0))
            fixed = 0
        ops.append((op, form))
    if fixed:
        ops.append((fixed, 0))
    return (tag, children, tuple(ops))
