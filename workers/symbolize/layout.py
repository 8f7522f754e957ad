"""The on-disk index format, shared by the writer (index.py, needs numpy) and the reader (lookup.py,
which must stay import-light: a `triage decode` process imports it and nothing heavy).

An index is one directory: `meta.json` (identity, counts, and where each array lives) and `arrays.bin`
(every array back to back, native byte order, 8-byte aligned), read with one mmap. Strings are stored
as a blob plus an offsets array, so nothing is parsed per run in proportion to the index size.
"""

from __future__ import annotations

import re

FORMAT_VERSION = 7
ARRAYS_FILE = "arrays.bin"

KIND_TEXT = 0  # nm 't' / 'T'
KIND_WEAK_TEXT = 1  # nm 'W' / 'i' in a code section: not found by the script, still a function name

# array name -> typecode (array/memoryview codes; all native byte order)
TYPECODES = {
    "line_addr": "Q", "line_file": "i", "line_no": "I", "line_disc": "I",
    "seg_addr": "Q", "seg_node": "i",
    "node_name": "I", "node_parent": "i", "node_call_file": "i", "node_call_line": "I",
    "sym_addr": "Q", "sym_size": "Q", "sym_kind": "B", "sym_file": "i",
    "cu_start": "Q", "cu_end": "Q",
    # derived at build time so that a reader sorts nothing
    "sym_by_name": "I",  # symbol indexes sorted by (name bytes, symbol-table order)
    "sym_order": "I",  # symbol indexes sorted by (address, sized first, symbol-table order)
    "sym_order_addr": "Q",  # sym_addr in sym_order
    "ks_addr": "Q",  # distinct sorted addresses of the symbols kallsyms has (see kallsyms_visible)
    "ks_code_addr": "Q",  # the same in code sections only (a kernel without CONFIG_KALLSYMS_ALL)
}
STRING_TABLES = ("files", "names", "symbols", "symbol_files")
for _t in STRING_TABLES:
    TYPECODES[f"{_t}_blob"] = "B"
    TYPECODES[f"{_t}_off"] = "Q"

# scripts/mksysmap (the sed script that turns `nm -n vmlinux` into what scripts/kallsyms reads): symbols
# dropped there never appear in kallsyms, so they are no boundary for the size the kernel prints.
_PREFIXES = (
    r"\$"  # ELF mapping symbols of arm, arm64, riscv, ...: $x, $d, $a, $t, $x.12
    r"|\.L"  # assembler local labels: .LBB, .Ltmp, .L__unnamed, .L0 (riscv)
    r"|__efistub_|__pi_\$|__pi_\.L|__kvm_nvhe_\$|__kvm_nvhe_\.L"  # arm64 namespaces
    r"|__[A-Za-z0-9]*Thunk_"  # lld thunks
    r"|__kcfi_typeid_|__kvm_nvhe___kcfi_typeid_|__pi___kcfi_typeid_"  # CFI type ids
    r"|__crc_|__kstrtab_|__kstrtabns_"  # modversions, EXPORT_SYMBOL
)
_EXACT = r"L0|_SDA_BASE_|_SDA2_BASE_"  # loongarch, ppc
_SUFFIXES = r"_from_arm|_from_thumb|_veneer"  # arm stubs
_CONTAINS = r"\.long_branch\.|\.plt_branch\."  # ppc stubs
_MKSYSMAP_DROPPED = re.compile(rf"^(?:{_PREFIXES}|(?:{_EXACT})$)|(?:{_SUFFIXES})$|{_CONTAINS}")
# the same rules over a whole NUL-separated string table at once (symbols.py): a dropped name starts after
# the NUL this matches; the suffix and infix rules are plain strings, found with bytes.find
TABLE_STARTS = re.compile(rf"\0(?:{_PREFIXES}|(?:{_EXACT})(?=\0))".encode())
TABLE_INSIDE = (b"_from_arm\0", b"_from_thumb\0", b"_veneer\0", b".long_branch.", b".plt_branch.")
_MKSYSMAP_DROPPED_BYTES = re.compile(_MKSYSMAP_DROPPED.pattern.encode())


def kallsyms_visible_bytes(name: bytes) -> bool:
    return bool(name) and _MKSYSMAP_DROPPED_BYTES.search(name) is None


def kallsyms_visible(name: str) -> bool:
    """Whether a defined symbol of this name reaches kallsyms (scripts/mksysmap's name rules).

    `__pfx_` (x86 call padding) and `__cfi_` (kCFI preamble) symbols do: they end the function before
    them, as they do for the kernel."""
    return bool(name) and _MKSYSMAP_DROPPED.search(name) is None
