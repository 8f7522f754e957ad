"""One compilation unit of the fast DWARF reader: its DIEs decoded or stepped over, and the walk that
collects subprograms and inlined calls (with their names and ranges) and the unit's line rows into CURows.

Positions and DIE offsets inside a unit are relative to the unit's start, since .debug_info is read one
unit at a time.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Any

from .dwarfattrs import attr_addr, attr_str, die_ranges
from .dwarfbytes import Corrupt, Unsupported, uleb
from .dwarfcodes import (
    AT_ABSTRACT_ORIGIN,
    AT_ADDR_BASE,
    AT_CALL_FILE,
    AT_CALL_LINE,
    AT_COMP_DIR,
    AT_LINKAGE_NAME,
    AT_LOW_PC,
    AT_MIPS_LINKAGE_NAME,
    AT_NAME,
    AT_RNGLISTS_BASE,
    AT_SIBLING,
    AT_SPECIFICATION,
    AT_STMT_LIST,
    AT_STR_OFFSETS_BASE,
    REF_FORMS,
    SKIP_BLOCK,
    SKIP_BLOCK1,
    SKIP_BLOCK2,
    SKIP_BLOCK4,
    SKIP_SIBLING,
    SKIP_STRING,
    SKIP_ULEB,
    TAG_COMPILE_UNIT,
    TAG_INLINED,
    TAG_PARTIAL_UNIT,
    TAG_SUBPROGRAM,
    WALK_INTO,
    WANTED,
)
from .dwarfforms import Plan, form_value, skip_plan
from .dwarfread import CURows
from .lineprogram import LineProgram

if TYPE_CHECKING:
    from .fastdwarf import FastDwarf


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
        self._plans: dict[int, Plan] = {}

    # --- DIEs ---

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
            value, pos = form_value(self, form, pos, ic)
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
                value, pos = form_value(self, form, pos, 0)
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

    def _plan(self, code: int) -> Plan:
        """dwarfforms.skip_plan for this abbrev code, worked out once per unit."""
        plan = skip_plan(self, code)
        self._plans[code] = plan
        return plan

    # --- names ---

    def _name(self, attrs: dict[int, Any], depth: int = 0) -> str:
        if AT_NAME in attrs:
            return attr_str(self, attrs[AT_NAME][1])
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
                return attr_str(self, attrs[ref][1])
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
        out = CURows(comp_dir=attr_str(self, attrs[AT_COMP_DIR][1]) if AT_COMP_DIR in attrs else "")
        base = attr_addr(self, attrs[AT_LOW_PC][1]) if AT_LOW_PC in attrs else 0
        out.cu_ranges = die_ranges(self, attrs, base)
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
                ranges = die_ranges(self, attrs, cu_base)
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

