"""The ELF symbol table as compact arrays, with `nm`'s view of which symbols are code.

decode_stacktrace.sh resolves `func+off` with `nm | awk '$3 == name && ($2 == "t" || $2 == "T")'`: the
first local or global (not weak) symbol of that name in a code section, in symbol-table order (nm's sort
by name is stable). `kind` keeps that distinction so the lookup can answer exactly as the script does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from elftools.elf.elffile import ELFFile

from .layout import KIND_TEXT, KIND_WEAK_TEXT, TABLE_INSIDE, TABLE_STARTS

SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 1, 2, 4
STT_SECTION, STT_FILE = 3, 4
STB_LOCAL, STB_GLOBAL, STB_WEAK = 0, 1, 2


@dataclass
class SymbolArrays:
    names: list[str]
    addr: np.ndarray  # uint64, address in the index's address space (layout applied for .ko)
    size: np.ndarray  # uint64
    kind: np.ndarray  # uint8: KIND_TEXT / KIND_WEAK_TEXT
    # the STT_FILE name binutils attaches to the symbol when DWARF has no line ("symlink.c:?"):
    # index into `file_names`, -1 for none
    file: np.ndarray | None = None
    file_names: list[str] | None = None
    # kallsyms_addresses() of all allocated sections and of the code sections only
    ks_addr: np.ndarray | None = None
    ks_code_addr: np.ndarray | None = None


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
    files, file_names = _file_of_symbols(raw, strings, stype, bind, set(idx.tolist()))
    return SymbolArrays(names, addr, raw["size"][idx].astype(np.uint64), kind.astype(np.uint8),
                        np.array([files.get(i, -1) for i in idx.tolist()], dtype=np.int32), file_names,
                        *kallsyms_addresses(elf, section_base))


def _dropped(table: bytes) -> set[int]:
    """Positions of the NUL before each name of `table` (NUL-separated, starting with a NUL) that
    scripts/mksysmap drops."""
    out = {m.start() for m in TABLE_STARTS.finditer(table)}
    for needle in TABLE_INSIDE:
        pos = table.find(needle)
        while pos >= 0:
            out.add(table.rfind(b"\0", 0, pos))
            pos = table.find(needle, pos + 1)
    return out


def visible_names(strings: bytes, offsets: np.ndarray) -> np.ndarray:
    """Which names (string table offsets) kallsyms keeps (layout.kallsyms_visible), searched over the
    whole table at once: a regex per name over a distribution kernel's 200,000 symbols costs a second."""
    offsets = np.asarray(offsets, dtype=np.int64)
    n = len(strings)
    table = b"\0" + strings  # the name at offset o starts at o + 1, after the NUL at o
    raw = np.frombuffer(table, dtype=np.uint8)
    inside = offsets < n
    where = np.minimum(offsets, n)
    ok = inside & (raw[np.minimum(where + 1, n)] != 0)  # not empty
    at_start = raw[where] == 0  # names that share the tail of a longer one (the linker merges them) are not
    dropped = _dropped(table)
    ok &= ~(at_start & np.isin(offsets, np.fromiter(dropped, dtype=np.int64, count=len(dropped))))
    tails = np.nonzero(ok & ~at_start)[0]
    if len(tails):  # e.g. `foo` inside `__pfx_foo`: a table of their own, scanned the same way
        names = [strings[o:strings.find(b"\0", o)] for o in offsets[tails].tolist()]
        starts = np.zeros(len(names), dtype=np.int64)
        if len(names) > 1:
            np.cumsum([len(x) + 1 for x in names[:-1]], out=starts[1:])
        gone = _dropped(b"\0" + b"\0".join(names) + b"\0")
        ok[tails[np.isin(starts, np.fromiter(gone, dtype=np.int64, count=len(gone)))]] = False
    return ok


def kallsyms_addresses(elf: ELFFile, section_base: dict[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Distinct sorted addresses of the symbols kallsyms knows, in all allocated sections and in the code
    sections only: defined there, not section/file symbols, and kept by scripts/mksysmap
    (`kallsyms_visible`). The kernel prints a function's size as the distance to the next of these
    (aliases share an address)."""
    empty = np.zeros(0, np.uint64)
    symtab = elf.get_section_by_name(".symtab")
    if symtab is None or symtab["sh_entsize"] == 0:
        return empty, empty
    strings = elf.get_section(symtab["sh_link"]).data()
    raw = np.frombuffer(symtab.data(), dtype=_sym_dtype(elf))
    alloc = np.zeros(max(elf.num_sections(), 1), dtype=bool)
    code = np.zeros(max(elf.num_sections(), 1), dtype=bool)
    for i, section in enumerate(elf.iter_sections()):
        flags = section["sh_flags"]
        alloc[i] = bool(flags & SHF_ALLOC)
        code[i] = bool(flags & SHF_ALLOC and flags & SHF_EXECINSTR)
    shndx = raw["shndx"].astype(np.int64)
    stype = raw["info"] & 0xF
    ok = (shndx > 0) & (shndx < len(alloc))
    ok[ok] = alloc[shndx[ok]]
    ok &= (stype != STT_SECTION) & (stype != STT_FILE) & (raw["name"] != 0)
    idx = np.nonzero(ok)[0]
    idx = idx[visible_names(strings, raw["name"][idx])] if len(idx) else idx
    addr = raw["value"][idx].astype(np.uint64)
    if section_base:
        addr = addr + np.array([section_base.get(int(s), 0) for s in shndx[idx].tolist()], dtype=np.uint64)
    in_code = code[shndx[idx]] if len(idx) else np.zeros(0, dtype=bool)
    return np.unique(addr), np.unique(addr[in_code])


def _file_of_symbols(raw: np.ndarray, strings: bytes, stype: np.ndarray, bind: np.ndarray,
                     wanted: set[int]) -> tuple[dict[int, int], list[str]]:
    """binutils' elf_find_function rule: a symbol takes the last STT_FILE before it when it is local,
    or when no STT_FILE has come after an earlier symbol (so globals after the locals get none)."""
    out: dict[int, int] = {}
    names: list[str] = []
    ids: dict[str, int] = {}
    current = -1
    symbol_seen = file_after_symbol = False
    types, binds, name_offs = stype.tolist(), bind.tolist(), raw["name"].tolist()
    for i in range(1, len(types)):
        t = types[i]
        if t == STT_FILE:
            off = name_offs[i]
            end = strings.find(b"\0", off)
            name = strings[off:end if end >= 0 else len(strings)].decode("utf-8", "replace")
            current = ids.setdefault(name, len(ids))
            if len(names) < len(ids):
                names.append(name)
            if symbol_seen:
                file_after_symbol = True
            continue
        if t == STT_SECTION:
            continue
        if i in wanted and current >= 0 and (binds[i] == STB_LOCAL or not file_after_symbol):
            out[i] = current
        symbol_seen = True
    return out, names
