"""Answering from an index: address -> inline chain of (function, file, line), name -> symbol address.

The chain is what `addr2line -f -i` prints, innermost first: the line-table row for the address with
the innermost inlined function's name, then one entry per enclosing inline call site (the caller's name
and the DW_AT_call_file:DW_AT_call_line of the inlined callee), ending with the out-of-line function.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .elffile import SymbolizeError
from .index import FORMAT_VERSION
from .symbols import KIND_TEXT

ARRAYS = ("line_addr", "line_file", "line_no", "line_disc", "seg_addr", "seg_node", "node_name", "node_parent",
          "node_call_file", "node_call_line", "sym_addr", "sym_size", "sym_kind", "cu_start", "cu_end")


@dataclass(frozen=True)
class Location:
    function: str | None  # None when the DWARF has no function for the address
    file: str  # as addr2line prints it (full path); `Index.relative` strips the build directory
    line: int
    discriminator: int = 0

    def addr2line(self) -> str:
        """`file:line` plus ` (discriminator N)` as addr2line prints the innermost entry."""
        text = f"{self.file}:{self.line if self.line else '?'}"
        return text + (f" (discriminator {self.discriminator})" if self.discriminator else "")


class Index:
    """A loaded index (see index.py for the layout)."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        meta_path = path / "meta.json"
        if not meta_path.exists():
            raise SymbolizeError(f"{path}: no complete symbol index here")
        self.meta: dict[str, Any] = json.loads(meta_path.read_text())
        if self.meta.get("format") != FORMAT_VERSION:
            raise SymbolizeError(f"{path}: index format {self.meta.get('format')}, expected {FORMAT_VERSION}")
        self.path = path
        for name in ARRAYS:
            setattr(self, name, np.load(path / f"{name}.npy", mmap_mode="r"))
        strings = json.loads((path / "strings.json").read_text())
        self.files: list[str] = strings["files"]
        self.names: list[str] = strings["names"]
        self.symbol_names: list[str] = strings["symbols"]
        self.basepath: str = self.meta.get("basepath", "")
        self._by_name: dict[str, list[int]] | None = None
        self._sym_sorted: np.ndarray | None = None

    @classmethod
    def from_parts(cls, path: Path) -> Index:
        return cls(path)

    # --- names -> addresses (what `nm` answers for decode_stacktrace.sh) ---

    def _name_table(self) -> dict[str, list[int]]:
        if self._by_name is None:
            table: dict[str, list[int]] = {}
            for i, name in enumerate(self.symbol_names):
                table.setdefault(name, []).append(i)
            self._by_name = table
        return self._by_name

    def symbols_named(self, name: str) -> list[tuple[int, int, bool]]:
        """(address, size, is nm t/T) of every code symbol called `name`, in symbol-table order."""
        return [(int(self.sym_addr[i]), int(self.sym_size[i]), int(self.sym_kind[i]) == KIND_TEXT)
                for i in self._name_table().get(name, [])]

    def symbol_address(self, name: str) -> int | None:
        """The address decode_stacktrace.sh uses: the first t/T symbol of that name."""
        for addr, _size, text in self.symbols_named(name):
            if text:
                return addr
        return None

    def _distinct_addrs(self) -> np.ndarray:
        if getattr(self, "_distinct", None) is None:
            self._distinct = np.unique(np.asarray(self.sym_addr))
        return self._distinct

    def kallsyms_size(self, addr: int) -> int | None:
        """The size the kernel prints for a symbol at `addr`: the distance to the next symbol."""
        distinct = self._distinct_addrs()
        i = int(np.searchsorted(distinct, addr, side="right"))
        return int(distinct[i]) - addr if i < len(distinct) else None

    def symbol_at(self, addr: int) -> tuple[str, int, int] | None:
        """(name, start, size) of the code symbol containing `addr` (or the closest one before it)."""
        if self._sym_sorted is None:
            # sized symbols first at equal addresses so they win over aliases/labels
            self._sym_sorted = np.lexsort((self.sym_size == 0, np.asarray(self.sym_addr)))
        order = self._sym_sorted
        addrs = np.asarray(self.sym_addr)[order]
        i = int(np.searchsorted(addrs, addr, side="right")) - 1
        best = None
        while i >= 0:
            k = int(order[i])
            start, size = int(self.sym_addr[k]), int(self.sym_size[k])
            if size and start <= addr < start + size:
                return self.symbol_names[k], start, size
            if best is None:
                best = (self.symbol_names[k], start, size)
            if addr - start > 1 << 20:
                break
            i -= 1
            if best is not None and i >= 0 and int(addrs[i]) != best[1]:
                break
        return best

    # --- addresses -> source ---

    def covered(self, addr: int) -> bool:
        i = int(np.searchsorted(self.cu_start, addr, side="right")) - 1
        return i >= 0 and addr < int(self.cu_end[i])

    def line_at(self, addr: int) -> tuple[int, int, int] | None:
        if not self.covered(addr):
            return None
        i = int(np.searchsorted(self.line_addr, addr, side="right")) - 1
        if i < 0:
            return None
        f = int(self.line_file[i])
        if f < 0:
            return None if f == -1 else (-1, int(self.line_no[i]), int(self.line_disc[i]))
        return f, int(self.line_no[i]), int(self.line_disc[i])

    def node_at(self, addr: int) -> int:
        i = int(np.searchsorted(self.seg_addr, addr, side="right")) - 1
        return int(self.seg_node[i]) if i >= 0 else -1

    def lookup(self, addr: int) -> list[Location]:
        """The inline chain at `addr`, innermost first; [] when the line table has nothing there."""
        row = self.line_at(addr)
        if row is None:
            return []
        f, line, disc = row
        file = self.files[f] if f >= 0 else "??"
        node = self.node_at(addr)
        if node < 0:
            return [Location(None, file, line, disc)]
        chain = [Location(self.names[int(self.node_name[node])], file, line, disc)]
        seen = 0
        while seen < 256:
            parent = int(self.node_parent[node])
            if parent < 0:
                break
            cf = int(self.node_call_file[node])
            chain.append(Location(self.names[int(self.node_name[parent])], self.files[cf] if cf >= 0 else "??",
                                  int(self.node_call_line[node])))
            node = parent
            seen += 1
        return chain

    def relative(self, path: str) -> str:
        """A file name as decode_stacktrace.sh prints it: the build directory prefix removed."""
        if self.basepath and path.startswith(self.basepath + "/"):
            return path[len(self.basepath) + 1:]
        return path
