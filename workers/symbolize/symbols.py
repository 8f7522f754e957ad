"""The ELF symbol table as compact arrays, with `nm`'s view of which symbols are code.

decode_stacktrace.sh resolves `func+off` with `nm | awk '$3 == name && ($2 == "t" || $2 == "T")'`: the
first local or global (not weak) symbol of that name in a code section, in symbol-table order (nm's sort
by name is stable). `kind` keeps that distinction so the lookup can answer exactly as the script does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from elftools.elf.elffile import ELFFile

KIND_TEXT = 0  # nm 't' / 'T'
KIND_WEAK_TEXT = 1  # nm 'W' / 'i' in a code section: not found by the script, still a function name
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 1, 2, 4
STT_SECTION, STT_FILE = 3, 4
STB_LOCAL, STB_GLOBAL, STB_WEAK = 0, 1, 2


@dataclass
class SymbolArrays:
    names: list[str]
    addr: np.ndarray  # uint64, address in the index's address space (layout applied for .ko)
    size: np.ndarray  # uint64
    kind: np.ndarray  # uint8: KIND_TEXT / KIND_WEAK_TEXT


def _sym_dtype(elf: ELFFile) -> np.dtype:
    e = "<" if elf.little_endian else ">"
    if elf.elfclass == 64:
        return np.dtype([("name", e + "u4"), ("info", "u1"), ("other", "u1"), ("shndx", e + "u2"),
                         ("value", e + "u8"), ("size", e + "u8")])
    return np.dtype([("name", e + "u4"), ("value", e + "u4"), ("size", e + "u4"), ("info", "u1"),
                     ("other", "u1"), ("shndx", e + "u2")])


def read_code_symbols(elf: ELFFile, section_base: dict[int, int] | None = None) -> SymbolArrays:
    """Function symbols of code sections, in symbol-table order.

    `section_base` gives, for a relocatable object (.ko), the address each section was placed at; the
    symbol's address is then base + st_value. For a linked image st_value is the address."""
    symtab = elf.get_section_by_name(".symtab")
    if symtab is None or symtab["sh_entsize"] == 0:
        return SymbolArrays([], np.zeros(0, np.uint64), np.zeros(0, np.uint64), np.zeros(0, np.uint8))
    strtab = elf.get_section(symtab["sh_link"])
    raw = np.frombuffer(symtab.data(), dtype=_sym_dtype(elf))
    strings = strtab.data()
    exec_sections = np.zeros(max(elf.num_sections(), 1), dtype=bool)
    for i, section in enumerate(elf.iter_sections()):
        flags = section["sh_flags"]
        exec_sections[i] = bool(flags & SHF_ALLOC and flags & SHF_EXECINSTR)
    shndx = raw["shndx"].astype(np.int64)
    stype = raw["info"] & 0xF
    bind = raw["info"] >> 4
    in_code = (shndx > 0) & (shndx < len(exec_sections))
    in_code[in_code] = exec_sections[shndx[in_code]]
    keep = in_code & (stype != STT_SECTION) & (stype != STT_FILE) & (raw["name"] != 0)
    idx = np.nonzero(keep)[0]
    names = []
    for off in raw["name"][idx].tolist():
        end = strings.find(b"\0", off)
        names.append(strings[off:end if end >= 0 else len(strings)].decode("utf-8", "replace"))
    addr = raw["value"][idx].astype(np.uint64)
    if section_base:
        bases = np.array([section_base.get(int(s), 0) for s in shndx[idx].tolist()], dtype=np.uint64)
        addr = addr + bases
    kind = np.where((bind[idx] == STB_LOCAL) | (bind[idx] == STB_GLOBAL), KIND_TEXT, KIND_WEAK_TEXT)
    return SymbolArrays(names, addr, raw["size"][idx].astype(np.uint64), kind.astype(np.uint8))
