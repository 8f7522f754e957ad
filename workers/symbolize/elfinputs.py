"""What the index builder takes from the ELF image besides symbols: the code sections' address ranges
(rows and functions outside them were discarded by the linker) and the .debug_* sections, with
.debug_info read one unit at a time from the file where it can be."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from .dwarfread import SKIPPED_SECTIONS


def code_ranges(elf: Any, section_base: dict[int, int] | None = None) -> list[tuple[int, int]]:
    """Address ranges of the code sections (rows and functions outside them were discarded by the linker)."""
    out = []
    for i, s in enumerate(elf.iter_sections()):
        if s["sh_flags"] & 2 and s["sh_flags"] & 4 and s["sh_size"]:
            start = section_base[i] if section_base is not None and i in section_base else s["sh_addr"]
            if section_base is not None and i not in section_base:
                continue
            out.append((start, start + s["sh_size"]))
    out.sort()
    merged: list[tuple[int, int]] = []
    for lo, hi in out:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def make_keep(ranges: list[tuple[int, int]]) -> Callable[[int], bool]:
    starts = [r[0] for r in ranges]
    import bisect

    def keep(addr: int) -> bool:
        i = bisect.bisect_right(starts, addr) - 1
        return i >= 0 and addr < ranges[i][1]

    return keep



SHF_COMPRESSED = 0x800


def info_reader(dwarf_elf: Any) -> tuple[Callable[[int, int], bytes] | None, int | None]:
    """Read .debug_info one unit at a time from the file (None: use the bytes of _debug_sections)."""
    section = dwarf_elf.get_section_by_name(".debug_info")
    if section is None or ".debug_info" in getattr(dwarf_elf, "_patched", {}) or \
            section["sh_flags"] & SHF_COMPRESSED or section["sh_type"] == "SHT_NOBITS":
        return None, None
    stream, start, size = dwarf_elf.stream, section["sh_offset"], section["sh_size"]
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # in memory (a module's BytesIO)
        fd = None

    def read(offset: int, count: int) -> bytes:
        count = max(0, min(count, size - offset))
        if fd is not None:  # pread: forked readers share the file offset, so seek+read would race
            return os.pread(fd, count, start + offset)
        stream.seek(start + offset)
        return stream.read(count)

    return read, size


def _debug_sections(dwarf_elf: Any) -> dict[str, bytes]:
    """The .debug_* sections the index reads, as bytes (relocated ones for modules); .debug_info only
    when it cannot be read unit by unit from the file (see info_reader)."""
    out = {}
    patched = getattr(dwarf_elf, "_patched", {})
    direct = info_reader(dwarf_elf)[0] is not None
    for section in dwarf_elf.iter_sections():
        name = section.name
        if not name.startswith(".debug_") or name in SKIPPED_SECTIONS or (direct and name == ".debug_info"):
            continue
        out[name] = patched.get(name) or section.data()
    return out
