"""A narrow, fast DWARF 2-5 reader for the index builder: line programs and the subprogram tree only.

pyelftools parses every attribute of every DIE through `construct` (about 100 us per DIE, 70 us per line
row); indexing a vmlinux needs only a dozen attributes of a few tags, so this reader skips the rest by
form and decodes line programs with a plain state machine. It yields the same `CURows` as
dwarfread.CUReader (which stays the fallback for anything this reader refuses: split units, unknown
forms, truncated data).

The reader is split by job: dwarfcodes (DWARF numbers), dwarfbytes (LEB128, strings, errors), dwarfforms
(attribute forms), dwarfattrs (strings, addresses and ranges from other sections), dwarfunit (one CU's
DIE walk), lineprogram (.debug_line). This module holds the sections and finds and opens the units;
the names other code imports from here are re-exported.
"""

from __future__ import annotations

from collections.abc import Callable

from .dwarfbytes import Corrupt, Unsupported, cstring, sleb, uleb
from .dwarfcodes import F_IMPLICIT_CONST, F_INDIRECT
from .dwarfread import CURows
from .dwarfunit import _CU
from .lineprogram import LineProgram

__all__ = ["F_INDIRECT", "Corrupt", "FastDwarf", "LineProgram", "Unsupported", "_CU", "cstring", "sleb", "uleb"]


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

