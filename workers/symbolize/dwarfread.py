"""Reading DWARF one compile unit at a time into compact rows (the index builder's input).

pyelftools is the parser, used so that memory stays bounded on a 500 MB vmlinux:
- `relocate_dwarf_sections=False` for linked images (applying ~12 million .rela.debug_* relocations to a
  vmlinux takes minutes and changes nothing); relocatable modules get their own relocation (modules.py);
- sections the index never reads (.debug_loclists, .debug_frame, ...) are not loaded at all;
- CUs are parsed with `_parse_CU_at_offset` and line programs dropped after use, since pyelftools caches
  every CU, DIE and line program it has seen;
- in each CU only subprograms and what they contain are walked: type trees are skipped via DW_AT_sibling.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from elftools.dwarf.dwarfinfo import DebugSectionDescriptor, DWARFInfo
from elftools.elf.elffile import ELFFile

SKIPPED_SECTIONS = {".debug_loc", ".debug_loclists", ".debug_frame", ".eh_frame", ".debug_pubnames",
                    ".debug_pubtypes", ".debug_types", ".debug_macro", ".debug_macinfo"}
RANGE_CONSTANT_FORMS = {"DW_FORM_data1", "DW_FORM_data2", "DW_FORM_data4", "DW_FORM_data8",
                        "DW_FORM_udata", "DW_FORM_sdata", "DW_FORM_implicit_const"}
WALK_INTO = {"DW_TAG_lexical_block", "DW_TAG_inlined_subroutine", "DW_TAG_subprogram",
             "DW_TAG_try_block", "DW_TAG_catch_block", "DW_TAG_namespace", "DW_TAG_module"}


class LeanELFFile(ELFFile):
    """ELFFile that loads only the DWARF sections the index needs, optionally with patched contents.

    `patched` maps a section name to replacement bytes (relocated module sections)."""

    def __init__(self, stream: Any, patched: dict[str, bytes] | None = None) -> None:
        super().__init__(stream)
        self._patched = patched or {}

    def _read_dwarf_section(self, section: Any, relocate_dwarf_sections: bool) -> DebugSectionDescriptor:
        name = section.name
        if name in SKIPPED_SECTIONS:
            data = b""
        elif name in self._patched:
            data = self._patched[name]
        else:
            data = section.data()
        return DebugSectionDescriptor(stream=io.BytesIO(data), name=name, global_offset=section["sh_offset"],
                                      size=len(data), address=section["sh_addr"])


@dataclass
class CURows:
    """What one CU contributes to the index, with CU-local string tables."""

    files: list[str] = field(default_factory=list)
    # line rows in program order: (address, file index into files or -1 for end_sequence, line, discriminator)
    rows: list[tuple[int, int, int, int]] = field(default_factory=list)
    # function nodes: (name, parent node or -1, call file index or -1, call line)
    nodes: list[tuple[str, int, int, int]] = field(default_factory=list)
    # address intervals of nodes: (lo, hi, node, depth)
    intervals: list[tuple[int, int, int, int]] = field(default_factory=list)
    comp_dir: str = ""
    # address ranges the CU claims (DW_AT_ranges / low_pc-high_pc of the CU DIE): addr2line only
    # consults a CU's line table for addresses inside them
    cu_ranges: list[tuple[int, int]] = field(default_factory=list)


def _s(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def iter_cu_offsets(dwarf: DWARFInfo) -> Iterator[int]:
    """Offsets of the CUs in .debug_info, without pyelftools' CU cache."""
    size = dwarf.debug_info_sec.size
    offset = 0
    while offset < size:
        cu = dwarf._parse_CU_at_offset(offset)
        yield offset
        step = cu.size
        if step <= 0:
            return
        offset += step


def _file_paths(lp: Any, comp_dir: str) -> tuple[list[str], int]:
    """Full paths of the line program's file table as addr2line prints them, and the index base."""
    version = lp.header["version"]
    dirs = [_s(d) for d in lp.header["include_directory"]]
    out = []
    for entry in lp.header["file_entry"]:
        name = _s(entry.name)
        dir_index = entry.dir_index
        if version >= 5:
            directory = dirs[dir_index] if dir_index < len(dirs) else ""
        else:
            directory = comp_dir if dir_index == 0 else (dirs[dir_index - 1] if dir_index - 1 < len(dirs) else "")
        if not name.startswith("/"):
            if directory and not directory.startswith("/") and comp_dir:
                directory = comp_dir + "/" + directory
            name = directory + "/" + name if directory else name
        out.append(name)
    return out, (0 if version >= 5 else 1)


class CUReader:
    """Extracts line rows and the subprogram/inline tree of a CU."""

    def __init__(self, dwarf: DWARFInfo, keep: Callable[[int], bool]) -> None:
        self.dwarf = dwarf
        self.keep = keep  # is this address in a code section of the image?
        self._range_lists = None

    def read(self, offset: int) -> CURows:
        dwarf = self.dwarf
        cu = dwarf._parse_CU_at_offset(offset)
        top = cu.get_top_DIE()
        out = CURows(comp_dir=_s(top.attributes["DW_AT_comp_dir"].value) if "DW_AT_comp_dir" in top.attributes else "")
        base = 0
        if "DW_AT_low_pc" in top.attributes:
            base = top.attributes["DW_AT_low_pc"].value or 0
        out.cu_ranges = self._ranges(top, base)
        files, file_base = [], 0
        lp = None
        if "DW_AT_stmt_list" in top.attributes:
            try:
                lp = dwarf.line_program_for_CU(cu)
            finally:
                dwarf._linetable_cache.clear()
        if lp is not None:
            files, file_base = _file_paths(lp, out.comp_dir)
            out.files = files
            self._rows(lp, file_base, len(files), out)
        self._walk(cu, top, base, file_base, len(files), out)
        return out

    def _rows(self, lp: Any, file_base: int, nfiles: int, out: CURows) -> None:
        rows = out.rows
        keep_seq = None
        for entry in lp.get_entries():
            state = entry.state
            if state is None:
                continue
            if keep_seq is None:
                keep_seq = self.keep(state.address)
            if keep_seq:
                if state.end_sequence:
                    rows.append((state.address, -1, 0, 0))
                else:
                    f = state.file - file_base
                    rows.append((state.address, f if 0 <= f < nfiles else -2, state.line, state.discriminator))
            if state.end_sequence:
                keep_seq = None

    def _ranges(self, die: Any, cu_base: int) -> list[tuple[int, int]]:
        at = die.attributes
        if "DW_AT_low_pc" in at and "DW_AT_high_pc" in at:
            lo = at["DW_AT_low_pc"].value
            hp = at["DW_AT_high_pc"]
            hi = lo + hp.value if hp.form in RANGE_CONSTANT_FORMS else hp.value
            return [(lo, hi)] if hi > lo else []
        if "DW_AT_ranges" in at:
            rl = self.dwarf.range_lists()
            if rl is None:
                return []
            attr = at["DW_AT_ranges"]
            cu = die.cu
            try:
                if cu["version"] >= 5:
                    entries = rl.get_range_list_at_offset(attr.value, cu=cu)
                else:
                    entries = rl.get_range_list_at_offset(attr.value)
            except Exception:
                return []
            out = []
            base = cu_base
            for e in entries:
                if hasattr(e, "base_address"):
                    base = e.base_address
                    continue
                if e.is_absolute:
                    lo, hi = e.begin_offset, e.end_offset
                else:
                    lo, hi = base + e.begin_offset, base + e.end_offset
                if hi > lo:
                    out.append((lo, hi))
            return out
        return []

    def _name(self, die: Any, cache: dict[int, str], depth: int = 0) -> str:
        if die.offset in cache:
            return cache[die.offset]
        at = die.attributes
        name = ""
        if "DW_AT_name" in at:
            name = _s(at["DW_AT_name"].value)
        elif depth < 8:
            for ref in ("DW_AT_abstract_origin", "DW_AT_specification"):
                if ref in at:
                    try:
                        name = self._name(die.get_DIE_from_attribute(ref), cache, depth + 1)
                    except Exception:
                        name = ""
                    if name:
                        break
        if not name and "DW_AT_linkage_name" in at:
            name = _s(at["DW_AT_linkage_name"].value)
        cache[die.offset] = name
        return name

    def _walk(self, cu: Any, top: Any, cu_base: int, file_base: int, nfiles: int, out: CURows) -> None:
        names: dict[int, str] = {}
        # (die, parent node, depth); children of non-code DIEs are skipped (DW_AT_sibling jumps over types)
        stack = [(top, -1, 0)]
        while stack:
            die, parent, depth = stack.pop()
            for child in die.iter_children():
                tag = child.tag
                if tag not in WALK_INTO:
                    continue
                node = parent
                if tag in ("DW_TAG_subprogram", "DW_TAG_inlined_subroutine"):
                    ranges = self._ranges(child, cu_base)
                    if not ranges:
                        continue  # declaration or abstract instance: nothing at an address
                    if not self.keep(ranges[0][0]):
                        continue  # discarded by the linker (address 0 / tombstone)
                    call_file, call_line = -1, 0
                    if tag == "DW_TAG_inlined_subroutine":
                        at = child.attributes
                        if "DW_AT_call_file" in at:
                            f = at["DW_AT_call_file"].value - file_base
                            call_file = f if 0 <= f < nfiles else -1
                        if "DW_AT_call_line" in at:
                            call_line = at["DW_AT_call_line"].value
                    node = len(out.nodes)
                    out.nodes.append((self._name(child, names), parent if tag != "DW_TAG_subprogram" else -1,
                                      call_file, call_line))
                    for lo, hi in ranges:
                        out.intervals.append((lo, hi, node, depth))
                if child.has_children:
                    stack.append((child, node, depth + 1))


def open_dwarf(elf: ELFFile) -> DWARFInfo | None:
    if not elf.has_dwarf_info():
        return None
    return elf.get_dwarf_info(relocate_dwarf_sections=False, follow_links=False)


def file_size(stream: Any) -> int:
    return os.fstat(stream.fileno()).st_size
