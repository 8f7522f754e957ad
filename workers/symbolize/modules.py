"""Kernel modules (.ko): relocatable objects symbolized from their own symbols and DWARF.

In a .ko every section starts at address 0 and the DWARF refers to code through relocations. Like
binutils does for relocatable files, each allocated section is placed at its own address (one after
the other, aligned), the relocations of the debug sections the index reads are applied against that
layout, and the symbol table is read with the same layout, so `func+off [mod]` and the line table
agree whatever section (.text, .init.text, .text.unlikely, ...) the function lives in.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np
from elftools.elf.elffile import ELFFile

from .dwarfread import LeanELFFile
from .elffile import SymbolizeError, identify_elf, open_elf, uncompressed
from .index import IndexInfo, build_from_elf

RELOCATED = (".debug_info", ".debug_line", ".debug_ranges", ".debug_rnglists", ".debug_aranges", ".debug_addr",
             ".debug_str_offsets")
# relocation type -> (bytes, operation) for the types found in debug sections; "abs": S + A,
# "add"/"sub": existing value +/- (S + A) (RISC-V's label differences)
RELOC_TYPES: dict[str, dict[int, tuple[int, str]]] = {
    "EM_X86_64": {1: (8, "abs"), 10: (4, "abs"), 11: (4, "abs")},
    "EM_386": {1: (4, "abs")},
    "EM_AARCH64": {257: (8, "abs"), 258: (4, "abs")},
    "EM_ARM": {2: (4, "abs")},
    "EM_PPC64": {38: (8, "abs"), 1: (4, "abs")},
    "EM_PPC": {1: (4, "abs")},
    "EM_RISCV": {1: (4, "abs"), 2: (8, "abs"), 33: (1, "add"), 34: (2, "add"), 35: (4, "add"), 36: (8, "add"),
                 37: (1, "sub"), 38: (2, "sub"), 39: (4, "sub"), 40: (8, "sub")},
    "EM_S390": {22: (8, "abs"), 4: (4, "abs")},
}


def section_layout(elf: ELFFile) -> dict[int, int]:
    """Address of each allocated section when laid out one after the other from 0."""
    layout: dict[int, int] = {}
    cur = 0
    for i, s in enumerate(elf.iter_sections()):
        if not s["sh_flags"] & 2 or s["sh_type"] in ("SHT_NULL",):
            continue
        align = max(int(s["sh_addralign"]), 1)
        cur = (cur + align - 1) // align * align
        layout[i] = cur
        cur += int(s["sh_size"])
    return layout


def _rel_dtype(elf: ELFFile, rela: bool) -> np.dtype:
    e = "<" if elf.little_endian else ">"
    w = "u8" if elf.elfclass == 64 else "u4"
    sw = "i8" if elf.elfclass == 64 else "i4"
    fields = [("offset", e + w), ("info", e + w)]
    if rela:
        fields.append(("addend", e + sw))
    return np.dtype(fields)


def relocated_sections(elf: ELFFile, layout: dict[int, int]) -> dict[str, bytes]:
    """Contents of the debug sections the index reads, with their relocations applied to `layout`."""
    types = RELOC_TYPES.get(elf["e_machine"], {})
    symtab = elf.get_section_by_name(".symtab")
    if symtab is None:
        return {}
    from .symbols import _sym_dtype

    syms = np.frombuffer(symtab.data(), dtype=_sym_dtype(elf))
    bases = np.array([layout.get(int(s), 0) for s in syms["shndx"].tolist()], dtype=np.uint64)
    sym_values = syms["value"].astype(np.uint64) + bases
    order = "little" if elf.little_endian else "big"
    out: dict[str, bytes] = {}
    sections = list(elf.iter_sections())
    for rel in sections:
        if rel["sh_type"] not in ("SHT_RELA", "SHT_REL"):
            continue
        target = sections[rel["sh_info"]] if rel["sh_info"] < len(sections) else None
        if target is None or target.name not in RELOCATED:
            continue
        data = bytearray(out.get(target.name) or target.data())
        rows = np.frombuffer(rel.data(), dtype=_rel_dtype(elf, rel["sh_type"] == "SHT_RELA"))
        shift = 32 if elf.elfclass == 64 else 8
        rtype = (rows["info"] & ((1 << shift) - 1)).tolist()
        rsym = (rows["info"] >> shift).tolist()
        addends = rows["addend"].tolist() if "addend" in rows.dtype.names else None
        for k, off in enumerate(rows["offset"].tolist()):
            kind = types.get(rtype[k])
            if kind is None or rsym[k] >= len(sym_values):
                continue
            size, op = kind
            if off + size > len(data):
                continue
            mask = (1 << (8 * size)) - 1
            existing = int.from_bytes(data[off:off + size], order)
            addend = addends[k] if addends is not None else existing  # REL: the addend is in place
            value = int(sym_values[rsym[k]]) + addend
            if op == "add":
                value = existing + value
            elif op == "sub":
                value = existing - value
            data[off:off + size] = (value & mask).to_bytes(size, order)
        out[target.name] = bytes(data)
    return out


def module_name(path: str | os.PathLike[str]) -> str:
    """`lkdtm` for lkdtm.ko / lkdtm.ko.xz; dashes become underscores as the kernel prints them."""
    name = Path(path).name
    name = name.split(".ko", 1)[0]
    return name.replace("-", "_")


def find_module(modules_dir: str | os.PathLike[str] | None, name: str) -> Path | None:
    """The .ko(.xz/.gz/.zst) file of module `name` under `modules_dir` (searched recursively)."""
    if not modules_dir:
        return None
    root = Path(modules_dir)
    if root.is_file():
        return root if module_name(root) == name else None
    for path in sorted(root.rglob("*.ko*")):
        if module_name(path) == name and path.is_file():
            return path
    return None


def module_cache_key(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def build_module_index(ko_path: str | os.PathLike[str], index_dir: str | os.PathLike[str]) -> IndexInfo:
    """Index a .ko (compressed or not) with its own symbols and relocated DWARF."""
    index_dir = Path(index_dir)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    name = Path(ko_path).name
    with uncompressed(ko_path, tmpdir=str(index_dir.parent)) as plain:
        raw = Path(plain).read_bytes()
    stream = io.BytesIO(raw)
    elf = open_elf(stream, name)
    if elf["e_type"] != "ET_REL":
        raise SymbolizeError(f"{name}: not a relocatable module object")
    try:
        identity = identify_elf(elf, stream)
        layout = section_layout(elf)
        patched = relocated_sections(elf, layout)
        return build_from_elf(elf, LeanELFFile(io.BytesIO(raw), patched), index_dir, identity, layout)
    except SymbolizeError:
        raise
    except Exception as exc:
        raise SymbolizeError(f"{name}: cannot index module: {type(exc).__name__}: {exc}") from exc
