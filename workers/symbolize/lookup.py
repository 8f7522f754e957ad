"""Answering from an index: address -> inline chain of (function, file, line), name -> symbol address.

The chain is what `addr2line -f -i` prints, innermost first: the line-table row for the address with
the innermost inlined function's name, then one entry per enclosing inline call site (the caller's name
and the DW_AT_call_file:DW_AT_call_line of the inlined callee), ending with the out-of-line function.
"""

from __future__ import annotations

import bisect
import json
import mmap
import sys
from array import array
from pathlib import Path
from typing import Any, NamedTuple

from .elffile import SymbolizeError
from .layout import ARRAYS_FILE, FORMAT_VERSION, KIND_TEXT, STRING_TABLES, TYPECODES

# numpy is deliberately not imported here: a `triage decode` process loads this module, and numpy
# alone costs more than the whole decode. Arrays are memoryviews over one mmap (or over numpy arrays
# handed in by the lazy reader), searched with bisect.


class StringTable:
    """A read-only sequence of strings stored as a UTF-8 blob and offsets (decoded on access)."""

    def __init__(self, blob: memoryview, offsets: memoryview) -> None:
        self.blob, self.offsets = blob, offsets
        self._cache: dict[int, str] = {}

    def __len__(self) -> int:
        return max(len(self.offsets) - 1, 0)

    def raw(self, i: int) -> bytes:
        return self.blob[self.offsets[i]:self.offsets[i + 1]].tobytes()

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(i)
        got = self._cache.get(i)
        if got is None:
            got = self._cache[i] = self.raw(i).decode("utf-8", "surrogateescape")
        return got

    def __iter__(self):
        return (self[i] for i in range(len(self)))


def _map_arrays(path: Path, meta: dict[str, Any]) -> dict[str, memoryview]:
    where = meta.get("arrays")
    if not isinstance(where, dict) or meta.get("byteorder") != sys.byteorder:
        raise SymbolizeError(f"{path}: index written for another byte order or incomplete")
    with open(path / ARRAYS_FILE, "rb") as f:
        size = f.seek(0, 2)
        whole = memoryview(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b"")
    out = {}
    for name, typecode in TYPECODES.items():
        try:
            code, offset, count = where[name]
            itemsize = array(code).itemsize
        except (KeyError, TypeError, ValueError) as exc:
            raise SymbolizeError(f"{path}: index has no valid {name} array") from exc
        if code != typecode or offset % 8 or offset + count * itemsize > size:
            raise SymbolizeError(f"{path}: index array {name} is damaged")
        out[name] = whole[offset:offset + count * itemsize].cast(code)
    return out


class Location(NamedTuple):
    function: str | None  # None when the DWARF has no function for the address
    file: str  # as addr2line prints it (full path); `Index.relative` strips the build directory
    line: int
    discriminator: int = 0

    def addr2line(self) -> str:
        """`file:line` plus ` (discriminator N)` as addr2line prints the innermost entry."""
        text = f"{self.file}:{self.line if self.line else '?'}"
        return text + (f" (discriminator {self.discriminator})" if self.discriminator else "")


class Index:
    """A loaded index (see index.py for the arrays and layout.py for the files)."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        try:
            meta = json.loads((path / "meta.json").read_text())
        except FileNotFoundError:
            raise SymbolizeError(f"{path}: no complete symbol index here") from None
        except (OSError, ValueError) as exc:
            raise SymbolizeError(f"{path}: unreadable index: {exc}") from exc
        if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
            found = meta.get("format") if isinstance(meta, dict) else None
            raise SymbolizeError(f"{path}: index format {found}, expected {FORMAT_VERSION}")
        self._setup(_map_arrays(path, meta), meta)
        self.path: Path | None = path

    @classmethod
    def in_memory(cls, arrays: dict[str, Any], meta: dict[str, Any]) -> Index:
        """An index that was never written to disk (lazy answers); `arrays` as index.as_views gives."""
        self = cls.__new__(cls)
        self._setup(arrays, meta)
        self.path = None
        return self

    def _setup(self, arrays: dict[str, Any], meta: dict[str, Any]) -> None:
        self.meta: dict[str, Any] = meta
        self.arrays = arrays
        for name in TYPECODES:
            setattr(self, name, arrays[name])
        tables = {t: StringTable(arrays[f"{t}_blob"], arrays[f"{t}_off"]) for t in STRING_TABLES}
        self.files: StringTable = tables["files"]
        self.names: StringTable = tables["names"]
        self.symbol_names: StringTable = tables["symbols"]
        self.symbol_files: StringTable = tables["symbol_files"]
        self.basepath: str = meta.get("basepath", "")

    # --- names -> addresses (what `nm` answers for decode_stacktrace.sh) ---

    def _named(self, name: str) -> range:
        """Positions in sym_by_name of the symbols called `name` (in symbol-table order)."""
        key = name.encode("utf-8", "surrogateescape")
        raw = self.symbol_names.raw
        lo = bisect.bisect_left(self.sym_by_name, key, key=raw)
        hi = bisect.bisect_right(self.sym_by_name, key, lo=lo, key=raw)
        return range(lo, hi)

    def symbols_named(self, name: str) -> list[tuple[int, int, bool]]:
        """(address, size, is nm t/T) of every code symbol called `name`, in symbol-table order."""
        out = []
        for j in self._named(name):
            i = self.sym_by_name[j]
            out.append((self.sym_addr[i], self.sym_size[i], self.sym_kind[i] == KIND_TEXT))
        return out

    def symbol_address(self, name: str) -> int | None:
        """The address decode_stacktrace.sh uses: the first t/T symbol of that name."""
        for addr, _size, text in self.symbols_named(name):
            if text:
                return addr
        return None

    @staticmethod
    def _next_after(addrs: Any, addr: int) -> int | None:
        i = bisect.bisect_right(addrs, addr)
        return addrs[i] - addr if i < len(addrs) else None

    def kallsyms_size(self, addr: int) -> int | None:
        """The size the kernel prints for a function at `addr`: the distance to the next symbol kallsyms
        has (ELF mapping symbols, local labels and the other names scripts/mksysmap drops are none)."""
        return self._next_after(self.ks_code_addr, addr)

    def kallsyms_sizes(self, addr: int) -> set[int]:
        """Every size the kernel may print: up to the next code symbol, or (CONFIG_KALLSYMS_ALL, the
        last function of a section) up to the next symbol of any kind."""
        return {s for s in (self._next_after(self.ks_code_addr, addr), self._next_after(self.ks_addr, addr))
                if s is not None}

    def symbol_at(self, addr: int) -> tuple[str, int, int] | None:
        """(name, start, size) of the sized code symbol containing `addr`, if any."""
        order, addrs = self.sym_order, self.sym_order_addr
        i = bisect.bisect_right(addrs, addr) - 1
        # a few symbols back at most: nested/alias symbols share or precede the start
        for j in range(i, max(i - 16, -1), -1):
            k = order[j]
            start, size = self.sym_addr[k], self.sym_size[k]
            if size and start <= addr < start + size:
                return self.symbol_names[k], start, size
        return None

    def no_line_answer(self, addr: int) -> str | None:
        """What addr2line prints when DWARF has no line for a code address: `file.c:?` with the STT_FILE
        of the closest symbol at or before it (binutils' symbol-table fallback), `??:?` without one."""
        order, addrs = self.sym_order, self.sym_order_addr
        i = bisect.bisect_right(addrs, addr) - 1
        if i < 0:
            return None
        # among symbols at that address binutils keeps the last one in symbol-table order
        k = max(order[j] for j in range(i, max(i - 16, -1), -1) if addrs[j] == addrs[i])
        f = self.sym_file[k]
        return f"{self.symbol_files[f] if 0 <= f < len(self.symbol_files) else '??'}:?"

    # --- addresses -> source ---

    def covered(self, addr: int) -> bool:
        i = bisect.bisect_right(self.cu_start, addr) - 1
        return i >= 0 and addr < self.cu_end[i]

    def line_at(self, addr: int) -> tuple[int, int, int] | None:
        if not self.covered(addr):
            return None
        i = bisect.bisect_right(self.line_addr, addr) - 1
        if i < 0:
            return None
        f = self.line_file[i]
        if f < 0:
            return None if f == -1 else (-1, self.line_no[i], self.line_disc[i])
        return f, self.line_no[i], self.line_disc[i]

    def node_at(self, addr: int) -> int:
        i = bisect.bisect_right(self.seg_addr, addr) - 1
        return self.seg_node[i] if i >= 0 else -1

    def lookup(self, addr: int) -> list[Location]:
        """The inline chain at `addr`, innermost first; [] when neither the line table nor a DWARF
        function has it. Inside a function (or inlined call) with no line row (the `.cold` parts of
        functions often have none), addr2line still names the functions: the innermost level is
        `??:?` (file "??", line 0) and the enclosing levels are the call sites, as usual."""
        row = self.line_at(addr)
        node = self.node_at(addr)
        if row is None:
            if node < 0:
                return []
            row = (-1, 0, 0)
        f, line, disc = row
        file = self.files[f] if f >= 0 else "??"
        if node < 0:
            return [Location(None, file, line, disc)]
        chain = [Location(self.names[self.node_name[node]], file, line, disc)]
        seen = 0
        while seen < 256:
            parent = self.node_parent[node]
            if parent < 0:
                break
            cf = self.node_call_file[node]
            chain.append(Location(self.names[self.node_name[parent]], self.files[cf] if cf >= 0 else "??",
                                  self.node_call_line[node]))
            node = parent
            seen += 1
        return chain

    def relative(self, path: str) -> str:
        """A file name as decode_stacktrace.sh prints it: the build directory prefix removed."""
        if self.basepath and path.startswith(self.basepath + "/"):
            return path[len(self.basepath) + 1:]
        return path
