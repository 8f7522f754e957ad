"""A narrow, fast DWARF 2-5 reader for the index builder: line programs and the subprogram tree only.

pyelftools parses every attribute of every DIE through `construct` (about 100 us per DIE, 70 us per line
row); indexing a vmlinux needs only a dozen attributes of a few tags, so this reader skips the rest by
form and decodes line programs with a plain state machine. It yields the same `CURows` as
dwarfread.CUReader (which stays the fallback for anything this reader refuses: split units, unknown
forms, truncated data).
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Callable
from typing import Any

from .dwarfread import CURows

# tags
TAG_COMPILE_UNIT, TAG_PARTIAL_UNIT = 0x11, 0x3C
TAG_SUBPROGRAM, TAG_INLINED, TAG_LEXICAL = 0x2E, 0x1D, 0x0B
WALK_INTO = {TAG_SUBPROGRAM, TAG_INLINED, TAG_LEXICAL, 0x32, 0x25, 0x39, 0x1E}  # + try/catch/namespace/module
# attributes
AT_SIBLING, AT_NAME, AT_STMT_LIST, AT_LOW_PC, AT_HIGH_PC, AT_COMP_DIR = 0x01, 0x03, 0x10, 0x11, 0x12, 0x1B
AT_ABSTRACT_ORIGIN, AT_SPECIFICATION, AT_RANGES, AT_CALL_FILE, AT_CALL_LINE = 0x31, 0x47, 0x55, 0x58, 0x59
AT_LINKAGE_NAME, AT_MIPS_LINKAGE_NAME = 0x6E, 0x2007
AT_STR_OFFSETS_BASE, AT_ADDR_BASE, AT_RNGLISTS_BASE = 0x72, 0x73, 0x74
WANTED = {AT_SIBLING, AT_NAME, AT_STMT_LIST, AT_LOW_PC, AT_HIGH_PC, AT_COMP_DIR, AT_ABSTRACT_ORIGIN,
          AT_SPECIFICATION, AT_RANGES, AT_CALL_FILE, AT_CALL_LINE, AT_LINKAGE_NAME, AT_MIPS_LINKAGE_NAME,
          AT_STR_OFFSETS_BASE, AT_ADDR_BASE, AT_RNGLISTS_BASE}
# forms
F_ADDR, F_BLOCK2, F_BLOCK4, F_DATA2, F_DATA4, F_DATA8, F_STRING, F_BLOCK, F_BLOCK1 = 1, 3, 4, 5, 6, 7, 8, 9, 0xA
F_DATA1, F_FLAG, F_SDATA, F_STRP, F_UDATA, F_REF_ADDR, F_REF1, F_REF2, F_REF4, F_REF8 = (
    0xB, 0xC, 0xD, 0xE, 0xF, 0x10, 0x11, 0x12, 0x13, 0x14)
F_REF_UDATA, F_INDIRECT, F_SEC_OFFSET, F_EXPRLOC, F_FLAG_PRESENT, F_STRX, F_ADDRX = 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B
F_REF_SUP4, F_STRP_SUP, F_DATA16, F_LINE_STRP, F_REF_SIG8, F_IMPLICIT_CONST = 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x21
F_LOCLISTX, F_RNGLISTX, F_REF_SUP8 = 0x22, 0x23, 0x24
F_STRX1, F_STRX2, F_STRX3, F_STRX4, F_ADDRX1, F_ADDRX2, F_ADDRX3, F_ADDRX4 = range(0x25, 0x2D)
F_GNU_ADDR_INDEX, F_GNU_STR_INDEX, F_GNU_REF_ALT, F_GNU_STRP_ALT = 0x1F01, 0x1F02, 0x1F20, 0x1F21
# how to step over an attribute without decoding it (a positive number: that many bytes)
SKIP_ULEB, SKIP_STRING, SKIP_BLOCK, SKIP_BLOCK1, SKIP_BLOCK2, SKIP_BLOCK4, SKIP_SIBLING, SKIP_SLOW = range(-1, -9, -1)
LEB_FORMS = {0xF, 0xD, 0x15, 0x1A, 0x1B, 0x1F01, 0x1F02, 0x23, 0x22}  # udata sdata ref_udata strx addrx ...
CONSTANT_FORMS = {F_DATA1, F_DATA2, F_DATA4, F_DATA8, F_UDATA, F_SDATA, F_IMPLICIT_CONST}
REF_FORMS = {F_REF1, F_REF2, F_REF4, F_REF8, F_REF_UDATA}


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


class FastDwarf:
    """Sections as bytes plus the CU walker. `sections` maps ".debug_abbrev" etc. to bytes; .debug_info
    is either in `sections` or read one unit at a time through `info_reader(offset, size)`, so that a
    300 MB .debug_info is never in memory whole."""

    def __init__(self, sections: dict[str, bytes], little_endian: bool, address_size: int,
                 keep: Callable[[int], bool], info_reader: Callable[[int, int], bytes] | None = None,
                 info_size: int | None = None) -> None:
        self.s = sections
        if info_reader is None:
            info = sections.get(".debug_info", b"")
            self.read_info: Callable[[int, int], bytes] = lambda off, n: info[off:off + n]
            self.info_size = len(info)
        else:
            self.read_info, self.info_size = info_reader, info_size or 0
        self.e = "<" if little_endian else ">"
        self.default_addr_size = address_size
        self.keep = keep
        self._abbrevs: dict[int, dict[int, tuple[int, bool, list[tuple[int, int, int]]]]] = {}
        self._units: list[int] | None = None

    # --- helpers over sections ---

    def _uint(self, data: bytes, pos: int, size: int) -> int:
        if size == 1:
            return data[pos]
        return int.from_bytes(data[pos:pos + size], "little" if self.e == "<" else "big")

    def abbrevs(self, offset: int) -> dict[int, tuple[int, bool, list[tuple[int, int, int]]]]:
        table = self._abbrevs.get(offset)
        if table is not None:
            return table
        data = self.s.get(".debug_abbrev", b"")
        table = {}
        pos = offset
        while True:
            code, pos = uleb(data, pos)
            if code == 0:
                break
            tag, pos = uleb(data, pos)
            children = data[pos] != 0
            pos += 1
            specs = []
            while True:
                attr, pos = uleb(data, pos)
                form, pos = uleb(data, pos)
                ic = 0
                if form == F_IMPLICIT_CONST:
                    ic, pos = sleb(data, pos)
                if attr == 0 and form == 0:
                    break
                specs.append((attr, form, ic))
            table[code] = (tag, children, specs)
        if len(self._abbrevs) >= 16:  # each kernel CU has its own table: keep memory flat
            self._abbrevs.clear()
        self._abbrevs[offset] = table
        return table

    # --- one CU ---

    def unit_offsets(self) -> list[int]:
        if self._units is not None:
            return self._units
        out, pos = [], 0
        while pos + 11 <= self.info_size:
            head = self.read_info(pos, 12)
            if len(head) < 12:
                break
            length = self._uint(head, 0, 4)
            size = 4 + length if length < 0xFFFFFFF0 else 12 + self._uint(head, 4, 8)
            out.append(pos)
            pos += size
        self._units = out
        return out

    def unit(self, offset: int) -> _CU:
        """The unit at `offset` of .debug_info, its bytes read alone (DIE offsets are unit-relative)."""
        head = self.read_info(offset, 24)
        if len(head) < 11:
            raise Corrupt("truncated unit header")
        length = self._uint(head, 0, 4)
        pos = 4
        off_size = 4
        if length == 0xFFFFFFFF:
            length = self._uint(head, 4, 8)
            pos, off_size = 12, 8
        end = pos + length
        if offset + end > self.info_size:
            raise Corrupt("truncated unit")
        version = self._uint(head, pos, 2)
        pos += 2
        if version >= 5:
            unit_type = head[pos]
            addr_size = head[pos + 1]
            abbrev_off = self._uint(head, pos + 2, off_size)
            pos += 2 + off_size
            if unit_type not in (1, 3):  # compile / partial: anything else is a type or split unit
                raise Unsupported(f"unit type {unit_type}")
        elif version >= 2:
            abbrev_off = self._uint(head, pos, off_size)
            addr_size = head[pos + off_size]
            pos += off_size + 1
        else:
            raise Unsupported(f"DWARF version {version}")
        data = self.read_info(offset, end)
        if len(data) < end:
            raise Corrupt("truncated unit")
        return _CU(self, data, offset, pos, version, off_size, addr_size, self.abbrevs(abbrev_off))

    def read(self, offset: int) -> CURows:
        cu = self.unit(offset)
        return cu.read(cu.first_die)


class _CU:
    """One unit's bytes; positions and DIE offsets inside it are relative to the unit's start."""

    def __init__(self, fd: FastDwarf, data: bytes, base: int, first_die: int, version: int, off_size: int,
                 addr_size: int, abbrevs: dict[int, tuple[int, bool, list[tuple[int, int, int]]]]) -> None:
        self.fd, self.data, self.base, self.first_die, self.version = fd, data, base, first_die, version
        self.offset, self.end = 0, len(data)
        self.off_size, self.addr_size, self.abbrevs = off_size, addr_size, abbrevs
        self.str_offsets_base = 8 if version >= 5 else 0
        self.addr_base = 8
        self.rnglists_base = 12 if off_size == 4 else 20
        self.names: dict[int, str] = {}
        self._plans: dict[int, tuple[int, bool, tuple[tuple[int, int], ...]]] = {}

    # --- attribute values ---

    def _value(self, form: int, pos: int, ic: int) -> tuple[Any, int]:
        data = self.data
        u = self.fd._uint
        if form in (F_REF4, F_DATA4):
            return u(data, pos, 4), pos + 4
        if form in (F_STRP, F_SEC_OFFSET, F_LINE_STRP):
            v = u(data, pos, self.off_size)
            if form == F_STRP:
                return ("strp", v), pos + self.off_size
            if form == F_LINE_STRP:
                return ("line_strp", v), pos + self.off_size
            return v, pos + self.off_size
        if form == F_ADDR:
            return u(data, pos, self.addr_size), pos + self.addr_size
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
            n = self.off_size if self.version >= 3 else self.addr_size
            return ("ref_addr", u(data, pos, n)), pos + n
        if form in (F_REF_SUP4,):
            return None, pos + 4
        if form in (F_REF_SUP8,):
            return None, pos + 8
        if form in (F_STRP_SUP, F_GNU_REF_ALT, F_GNU_STRP_ALT):
            return None, pos + self.off_size
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
            return self._value(real, pos, ic)
        raise Unsupported(f"form {form:#x}")

    def die(self, pos: int) -> tuple[int, bool, dict[int, Any], int] | None:
        """(tag, has_children, wanted attributes, offset after the DIE) or None for a null entry."""
        data = self.data
        code, pos = uleb(data, pos)
        if code == 0:
            return None
        entry = self.abbrevs.get(code)
        if entry is None:
            raise Corrupt(f"abbrev code {code}")
        tag, children, specs = entry
        attrs: dict[int, Any] = {}
        for attr, form, ic in specs:
            value, pos = self._value(form, pos, ic)
            if attr in WANTED:
                if form in REF_FORMS:
                    value = ("ref", value + self.offset)
                attrs[attr] = (form, value)
        return tag, children, attrs, pos

    def _skip_children(self, pos: int) -> int:
        depth = 1
        while depth:
            if pos >= self.end:
                raise Corrupt("children run past the unit")
            d = self.skip(pos)
            if d is None:
                depth -= 1
                pos += 1
                continue
            _tag, children, sib, pos = d
            if children:
                if sib is not None:
                    pos = sib
                else:
                    depth += 1
        return pos

    def _fixed_size(self, form: int) -> int | None:
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
            return self.addr_size
        if form in (F_STRP, F_SEC_OFFSET, F_LINE_STRP, F_STRP_SUP, F_GNU_REF_ALT, F_GNU_STRP_ALT):
            return self.off_size
        if form == F_REF_ADDR:
            return self.off_size if self.version >= 3 else self.addr_size
        if form in (F_FLAG_PRESENT, F_IMPLICIT_CONST):
            return 0
        return None

    def _plan(self, code: int) -> tuple[int, bool, tuple[tuple[int, int], ...]]:
        """How to step over a DIE of this abbrev: (tag, has_children, ops), fixed-size runs merged."""
        entry = self.abbrevs.get(code)
        if entry is None:
            raise Corrupt(f"abbrev code {code}")
        tag, children, specs = entry
        ops: list[tuple[int, int]] = []
        fixed = 0
        for attr, form, _ic in specs:
            size = self._fixed_size(form)
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
        plan = (tag, children, tuple(ops))
        self._plans[code] = plan
        return plan

    def skip(self, pos: int) -> tuple[int, bool, int | None, int] | None:
        """(tag, has_children, DW_AT_sibling target or None, offset after the DIE) without decoding its
        attributes; None for a null entry. Most DIEs of a CU are only stepped over."""
        data = self.data
        start = pos
        code, pos = uleb(data, pos)
        if code == 0:
            return None
        plan = self._plans.get(code) or self._plan(code)
        tag, children, ops = plan
        sib = None
        for op, form in ops:
            if op > 0:
                pos += op
            elif op == SKIP_ULEB:
                while data[pos] & 0x80:
                    pos += 1
                pos += 1
            elif op == SKIP_SIBLING:
                value, pos = self._value(form, pos, 0)
                sib = value + self.offset
            elif op == SKIP_STRING:
                pos = data.index(b"\0", pos) + 1
            elif op == SKIP_BLOCK:
                n, pos = uleb(data, pos)
                pos += n
            elif op == SKIP_BLOCK1:
                pos += 1 + data[pos]
            elif op == SKIP_BLOCK2:
                pos += 2 + self.fd._uint(data, pos, 2)
            elif op == SKIP_BLOCK4:
                pos += 4 + self.fd._uint(data, pos, 4)
            else:
                d = self.die(start)
                assert d is not None
                return d[0], d[1], _sibling(d[2], d[3], self.end), d[3]
        if pos > self.end:
            raise Corrupt("DIE runs past the unit")
        return tag, children, sib if sib is not None and pos <= sib <= self.end else None, pos

    def _str(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        if not isinstance(value, tuple):
            return ""
        kind, v = value
        s = self.fd.s
        if kind == "strp":
            return cstring(s.get(".debug_str", b""), v)
        if kind == "line_strp":
            return cstring(s.get(".debug_line_str", b""), v)
        if kind == "strx":
            table = s.get(".debug_str_offsets", b"")
            off = self.fd._uint(table, self.str_offsets_base + v * self.off_size, self.off_size)
            return cstring(s.get(".debug_str", b""), off)
        return ""

    def _addr(self, value: Any) -> int:
        if isinstance(value, tuple):
            if value[0] != "addrx":
                raise Unsupported("address form")
            table = self.fd.s.get(".debug_addr", b"")
            return self.fd._uint(table, self.addr_base + value[1] * self.addr_size, self.addr_size)
        return int(value)

    def _ranges(self, attrs: dict[int, Any], cu_base: int) -> list[tuple[int, int]]:
        if AT_LOW_PC in attrs and AT_HIGH_PC in attrs:
            lo = self._addr(attrs[AT_LOW_PC][1])
            form, hv = attrs[AT_HIGH_PC]
            hi = lo + hv if form in CONSTANT_FORMS else self._addr(hv)
            return [(lo, hi)] if hi > lo else []
        if AT_RANGES in attrs:
            _form, v = attrs[AT_RANGES]
            if self.version >= 5:
                return self._rnglist(v, cu_base)
            return self._ranges_v4(v, cu_base)
        return []

    def _ranges_v4(self, offset: int, base: int) -> list[tuple[int, int]]:
        data = self.fd.s.get(".debug_ranges", b"")
        n = self.addr_size
        top = (1 << (8 * n)) - 1
        out = []
        pos = offset
        while pos + 2 * n <= len(data):
            a = self.fd._uint(data, pos, n)
            b = self.fd._uint(data, pos + n, n)
            pos += 2 * n
            if a == 0 and b == 0:
                break
            if a == top:
                base = b
                continue
            if b > a:
                out.append((base + a, base + b))
        return out

    def _rnglist(self, value: Any, base: int) -> list[tuple[int, int]]:
        data = self.fd.s.get(".debug_rnglists", b"")
        if isinstance(value, tuple):  # rnglistx: offset table after the header, relative to its base
            offset = self.rnglists_base + self.fd._uint(data, self.rnglists_base + value[1] * self.off_size,
                                                          self.off_size)
        else:
            offset = value
        n = self.addr_size
        u = self.fd._uint
        out = []
        pos = offset
        while pos < len(data):
            kind = data[pos]
            pos += 1
            if kind == 0:
                break
            if kind == 1:
                i, pos = uleb(data, pos)
                base = self._addr(("addrx", i))
            elif kind == 2:
                i, pos = uleb(data, pos)
                j, pos = uleb(data, pos)
                out.append((self._addr(("addrx", i)), self._addr(("addrx", j))))
            elif kind == 3:
                i, pos = uleb(data, pos)
                ln, pos = uleb(data, pos)
                a = self._addr(("addrx", i))
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

    def _name(self, attrs: dict[int, Any], depth: int = 0) -> str:
        if AT_NAME in attrs:
            return self._str(attrs[AT_NAME][1])
        if depth < 8:
            for ref in (AT_ABSTRACT_ORIGIN, AT_SPECIFICATION):
                if ref in attrs:
                    target = attrs[ref][1]
                    name = ""
                    if isinstance(target, tuple) and target[0] == "ref":
                        name = self._name_at(target[1], depth + 1)
                    elif isinstance(target, tuple) and target[0] == "ref_addr":
                        rel = target[1] - self.base
                        name = (self._name_at(rel, depth + 1) if 0 <= rel < self.end
                                else _foreign_name(self.fd, target[1]))
                    if name:
                        return name
        for ref in (AT_LINKAGE_NAME, AT_MIPS_LINKAGE_NAME):
            if ref in attrs:
                return self._str(attrs[ref][1])
        return ""

    def _name_at(self, offset: int, depth: int) -> str:
        if offset in self.names:
            return self.names[offset]
        name = ""
        if 0 <= offset < self.end:
            d = self.die(offset)
            if d is not None:
                name = self._name(d[2], depth)
        self.names[offset] = name
        return name

    # --- the CU ---

    def _set_bases(self, attrs: dict[int, Any]) -> None:
        """DWARF 5 offsets into .debug_str_offsets / .debug_addr / .debug_rnglists from the unit DIE."""
        if AT_STR_OFFSETS_BASE in attrs:
            self.str_offsets_base = attrs[AT_STR_OFFSETS_BASE][1]
        if AT_ADDR_BASE in attrs:
            self.addr_base = attrs[AT_ADDR_BASE][1]
        if AT_RNGLISTS_BASE in attrs:
            self.rnglists_base = attrs[AT_RNGLISTS_BASE][1]

    def read(self, pos: int) -> CURows:
        top = self.die(pos)
        if top is None:
            raise Corrupt("empty unit")
        tag, children, attrs, pos = top
        if tag not in (TAG_COMPILE_UNIT, TAG_PARTIAL_UNIT):
            raise Unsupported(f"unit DIE tag {tag:#x}")
        self._set_bases(attrs)
        out = CURows(comp_dir=self._str(attrs[AT_COMP_DIR][1]) if AT_COMP_DIR in attrs else "")
        base = self._addr(attrs[AT_LOW_PC][1]) if AT_LOW_PC in attrs else 0
        out.cu_ranges = self._ranges(attrs, base)
        nfiles, file_base = 0, 0
        if AT_STMT_LIST in attrs:
            lp = LineProgram(self.fd, attrs[AT_STMT_LIST][1], out.comp_dir)
            out.files = lp.files
            nfiles, file_base = len(lp.files), lp.file_base
            lp.rows(out.rows, self.fd.keep)
        if children:
            self._walk(pos, base, file_base, nfiles, out)
        return out

    def _walk(self, pos: int, cu_base: int, file_base: int, nfiles: int, out: CURows) -> None:
        keep = self.fd.keep
        # explicit stack of (parent node, depth) per open DIE with children
        stack: list[tuple[int, int]] = [(-1, 0)]
        while stack and pos < self.end:
            stepped = self.skip(pos)
            if stepped is None:
                stack.pop()
                pos += 1
                continue
            tag, children, sib, after = stepped
            if tag not in WALK_INTO:  # types, variables, parameters, call sites: stepped over
                pos = after
                if children:
                    pos = sib if sib is not None else self._skip_children(pos)
                continue
            d = self.die(pos)
            assert d is not None
            tag, children, attrs, pos = d
            parent, depth = stack[-1]
            node = parent
            if tag in (TAG_SUBPROGRAM, TAG_INLINED):
                ranges = self._ranges(attrs, cu_base)
                if not ranges or not keep(ranges[0][0]):
                    if children:
                        pos = self._skip_children(pos)
                    continue
                call_file, call_line = -1, 0
                if tag == TAG_INLINED:
                    if AT_CALL_FILE in attrs:
                        f = attrs[AT_CALL_FILE][1] - file_base
                        call_file = f if 0 <= f < nfiles else -1
                    if AT_CALL_LINE in attrs:
                        call_line = attrs[AT_CALL_LINE][1]
                node = len(out.nodes)
                out.nodes.append((self._name(attrs), parent if tag == TAG_INLINED else -1, call_file, call_line))
                for lo, hi in ranges:
                    out.intervals.append((lo, hi, node, depth))
            if children:
                stack.append((node, depth + 1))


def _sibling(attrs: dict[int, Any], pos: int, end: int) -> int | None:
    """DW_AT_sibling target when it is a forward jump inside the unit (a crafted backward one would loop)."""
    sib = attrs.get(AT_SIBLING)
    if sib is None or not isinstance(sib[1], tuple) or sib[1][0] != "ref":
        return None
    target = sib[1][1]
    return target if pos <= target <= end else None


def _foreign_name(fd: FastDwarf, offset: int) -> str:
    """Name of a DIE in another unit (DW_FORM_ref_addr, as LTO builds have)."""
    units = fd.unit_offsets()
    i = bisect.bisect_right(units, offset) - 1
    if i < 0:
        return ""
    try:
        cu = fd.unit(units[i])
        d = cu.die(offset - units[i])
        return cu._name(d[2], 8) if d else ""
    except (Corrupt, Unsupported, IndexError, ValueError):
        return ""


class LineProgram:
    """A .debug_line program: file table as addr2line names files, rows through `rows()`."""

    def __init__(self, fd: FastDwarf, offset: int, comp_dir: str) -> None:
        data = fd.s.get(".debug_line", b"")
        self.fd, self.data = fd, data
        u = fd._uint
        length = u(data, offset, 4)
        pos = offset + 4
        off_size = 4
        if length == 0xFFFFFFFF:
            length, pos, off_size = u(data, pos, 8), pos + 8, 8
        self.end = pos + length
        if self.end > len(data):
            raise Corrupt("truncated line program")
        version = u(data, pos, 2)
        pos += 2
        self.version = version
        self.addr_size = fd.default_addr_size
        if version >= 5:
            self.addr_size = data[pos]
            pos += 2
        header_length = u(data, pos, off_size)
        pos += off_size
        self.program = pos + header_length
        self.min_inst = data[pos]
        pos += 1
        if version >= 4:
            pos += 1  # maximum_operations_per_instruction (VLIW only)
        self.default_is_stmt = data[pos] != 0
        self.line_base = struct.unpack_from("b", data, pos + 1)[0]
        self.line_range = data[pos + 2]
        self.opcode_base = data[pos + 3]
        pos += 4
        self.std_lengths = list(data[pos:pos + self.opcode_base - 1])
        pos += self.opcode_base - 1
        if self.line_range == 0:
            raise Corrupt("line_range 0")
        if version >= 5:
            dirs, pos = self._entries(pos, off_size)
            files, pos = self._entries(pos, off_size)
            dir_names = [d.get(1, "") for d in dirs]
            paths = []
            for f in files:
                name = f.get(1, "")
                di = f.get(2, 0)
                directory = dir_names[di] if di < len(dir_names) else ""
                paths.append(_join(comp_dir, directory, name))
            self.file_base = 0
        else:
            dir_names = []
            while data[pos] != 0:
                end = data.index(b"\0", pos)
                dir_names.append(data[pos:end].decode("utf-8", "replace"))
                pos = end + 1
            pos += 1
            paths = []
            while data[pos] != 0:
                end = data.index(b"\0", pos)
                name = data[pos:end].decode("utf-8", "replace")
                di, pos = uleb(data, end + 1)
                _t, pos = uleb(data, pos)
                _s, pos = uleb(data, pos)
                directory = comp_dir if di == 0 else (dir_names[di - 1] if di - 1 < len(dir_names) else "")
                paths.append(_join(comp_dir, directory, name))
            self.file_base = 1
        self.files = paths

    def _entries(self, pos: int, off_size: int) -> tuple[list[dict[int, Any]], int]:
        data, u = self.data, self.fd._uint
        count = data[pos]
        pos += 1
        fmt = []
        for _ in range(count):
            ctype, pos = uleb(data, pos)
            form, pos = uleb(data, pos)
            fmt.append((ctype, form))
        n, pos = uleb(data, pos)
        # every entry takes at least one byte (all forms below do): a count beyond the program is crafted
        if n and (not fmt or n > self.end - pos):
            raise Corrupt(f"{n} line table entries in {max(self.end - pos, 0)} bytes")
        out = []
        s = self.fd.s
        for _ in range(n):
            entry: dict[int, Any] = {}
            for ctype, form in fmt:
                if form == F_STRING:
                    end = data.index(b"\0", pos)
                    v: Any = data[pos:end].decode("utf-8", "replace")
                    pos = end + 1
                elif form == F_LINE_STRP:
                    v = cstring(s.get(".debug_line_str", b""), u(data, pos, off_size))
                    pos += off_size
                elif form == F_STRP:
                    v = cstring(s.get(".debug_str", b""), u(data, pos, off_size))
                    pos += off_size
                elif form in (F_UDATA,):
                    v, pos = uleb(data, pos)
                elif form == F_DATA1:
                    v, pos = data[pos], pos + 1
                elif form == F_DATA2:
                    v, pos = u(data, pos, 2), pos + 2
                elif form == F_DATA4:
                    v, pos = u(data, pos, 4), pos + 4
                elif form == F_DATA8:
                    v, pos = u(data, pos, 8), pos + 8
                elif form == F_DATA16:
                    v, pos = None, pos + 16
                elif form == F_BLOCK:
                    ln, pos = uleb(data, pos)
                    v, pos = None, pos + ln
                else:
                    raise Unsupported(f"line table entry form {form:#x}")
                entry[ctype] = v
            out.append(entry)
        return out, pos

    def rows(self, rows: list[tuple[int, int, int, int]], keep: Callable[[int], bool]) -> None:
        """Append (address, file index or -1 at end_sequence, line, discriminator) like CUReader._rows."""
        data, pos, end = self.data, self.program, self.end
        u = self.fd._uint
        min_inst, line_base, line_range, opcode_base = self.min_inst, self.line_base, self.line_range, self.opcode_base
        std_lengths = self.std_lengths
        nfiles, file_base, v5 = len(self.files), self.file_base, self.version >= 5
        address, file, line, disc = 0, 1, 1, 0
        file_set = False
        keep_seq = None

        def emit(end_seq: bool) -> None:
            nonlocal keep_seq
            if keep_seq is None:
                keep_seq = keep(address)
            if keep_seq:
                if end_seq:
                    rows.append((address, -1, 0, 0))
                else:
                    # binutils starts a DWARF 5 sequence with file 0 until DW_LNS_set_file (see dwarfread)
                    f = file - file_base if file_set or not v5 else 0
                    rows.append((address, f if 0 <= f < nfiles else -2, line, disc))

        while pos < end:
            op = data[pos]
            pos += 1
            if op >= opcode_base:
                adj = op - opcode_base
                address += (adj // line_range) * min_inst
                line += line_base + adj % line_range
                emit(False)
                disc = 0
            elif op == 0:
                ln, pos = uleb(data, pos)
                if ln == 0:
                    continue
                sub = data[pos]
                nxt = pos + ln
                if sub == 1:
                    emit(True)
                    address, file, line, disc, file_set, keep_seq = 0, 1, 1, 0, False, None
                elif sub == 2:
                    address = u(data, pos + 1, ln - 1)
                elif sub == 4:
                    disc, _ = uleb(data, pos + 1)
                pos = nxt
            elif op == 1:
                emit(False)
                disc = 0
            elif op == 2:
                v, pos = uleb(data, pos)
                address += v * min_inst
            elif op == 3:
                v, pos = sleb(data, pos)
                line += v
            elif op == 4:
                file, pos = uleb(data, pos)
                file_set = True
            elif op == 8:
                address += ((255 - opcode_base) // line_range) * min_inst
            elif op == 9:
                address += u(data, pos, 2)
                pos += 2
            elif op in (6, 7, 10, 11):
                pass
            else:  # set_column, set_isa and unknown standard opcodes: skip their ULEB operands
                for _ in range(std_lengths[op - 1] if op - 1 < len(std_lengths) else 0):
                    _v, pos = uleb(data, pos)


def _join(comp_dir: str, directory: str, name: str) -> str:
    if name.startswith("/"):
        return name
    if directory and not directory.startswith("/") and comp_dir:
        directory = comp_dir + "/" + directory
    return directory + "/" + name if directory else name
