"""Answers before the index exists: read only the compile units the frames need.

When a build has just been uploaded its full index takes a while; a crash page should not wait for it.
`LazyIndex` answers the same questions as `Index` from the vmlinux itself: the symbol table at once,
and for an address the CU that `.debug_aranges` (or the CU's own ranges) assigns it, read with the
fast reader. Each CU read is kept in a `CUStore` (when given one) for later lazy readers and for the
full index build. Answers are the full index's except for addresses only found through other CUs'
line tables (CUs without ranges), which it skips.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import struct
from collections import Counter
from pathlib import Path
from typing import Any

from .accumulator import _Acc
from .custore import CUStore
from .dwarfattrs import attr_addr, die_ranges
from .dwarfread import LeanELFFile
from .elffile import SymbolizeError, identify_elf, is_ppc64_elfv1, open_elf
from .elfinputs import _debug_sections, code_ranges, info_reader, make_keep
from .fastdwarf import Corrupt, FastDwarf, Unsupported
from .indexarrays import as_views, dwarf_arrays, symbol_arrays
from .layout import FORMAT_VERSION
from .lookup import Index, Location
from .symbols import read_code_symbols

SYMBOLS_FILE = "symbols.npz"
PREFETCH_PER_WORKER = 8  # CUs per forked reader below which forking costs more than it saves


class LazyIndex:
    """Index-like view of an uncompressed vmlinux that parses CUs on demand.

    `store_dir`: where CUs read are kept and looked for (see custore.py); None keeps nothing."""

    def __init__(self, vmlinux: str | os.PathLike[str], store_dir: str | os.PathLike[str] | None = None) -> None:
        self._stream = open(vmlinux, "rb")  # noqa: SIM115 - kept open for the lifetime of the object
        name = Path(vmlinux).name
        elf = open_elf(self._stream, name)
        try:
            ident = identify_elf(elf, self._stream)
            st = os.fstat(self._stream.fileno())
            self.store = CUStore(store_dir, ident.build_id or f"{st.st_size}:{st.st_mtime_ns}") if store_dir else None
            # the symbol side (a second or so for a distribution kernel) is kept in the store too
            arrays = self.store.get_arrays(SYMBOLS_FILE) if self.store is not None else None
            if arrays is None:
                arrays = symbol_arrays(read_code_symbols(elf))
                if self.store is not None:
                    self.store.put_arrays(SYMBOLS_FILE, arrays)
            self._symbol_arrays = arrays
            keep = make_keep(code_ranges(elf))
            lean = LeanELFFile(self._stream)
            reader, size = info_reader(lean)
            self.fast = FastDwarf(_debug_sections(lean), elf.little_endian, elf.elfclass // 8, keep, reader, size)
        except SymbolizeError:
            raise
        except Exception as exc:
            raise SymbolizeError(f"{name}: unreadable: {type(exc).__name__}: {exc}") from exc
        self.meta: dict[str, Any] = {"build_id": ident.build_id, "release": ident.release, "arch": ident.arch,
                                     "banner": ident.banner, "ppc64_elfv1": is_ppc64_elfv1(elf),
                                     "format": FORMAT_VERSION, "lazy": True}
        self.stored_cus = self.parsed_cus = 0  # CUs taken from the store / parsed here
        self._ranges = self._cu_ranges()
        self._symbols = self._make_index(_Acc())  # the symbol side, shared by every answer
        self._cus: dict[int, Any] = {}  # CU offset -> CURows (None when unreadable)
        self._by_cus: dict[tuple[int, ...], Index] = {}
        self._comp_dirs: Counter[str] = Counter()
        self._prefetched: set[int] = set()

    def _cu_ranges(self) -> list[tuple[int, int, int]]:
        """(low, high, CU offset) sorted, from .debug_aranges (else from each CU's top DIE)."""
        out = []
        data = self.fast.s.get(".debug_aranges", b"")
        u = self.fast._uint
        pos = 0
        while pos + 12 <= len(data):
            length = u(data, pos, 4)
            start = pos + 4
            if length == 0xFFFFFFFF or length == 0:
                break
            end = start + length
            cu_off = u(data, start + 2, 4)
            addr_size = data[start + 6]
            entry = start + 8
            if addr_size not in (2, 4, 8):  # 0 would divide by zero below and never advance
                break
            pair = 2 * addr_size
            entry += (-(entry - pos)) % pair  # tuples are aligned to twice the address size
            while entry + pair <= end:
                lo = u(data, entry, addr_size)
                ln = u(data, entry + addr_size, addr_size)
                entry += pair
                if lo == 0 and ln == 0:
                    break
                out.append((lo, lo + ln, cu_off))
            pos = end
        if not out:  # no .debug_aranges: the units' own ranges (top DIE only)
            for off in self.fast.unit_offsets():
                try:
                    cu = self.fast.unit(off)
                    top = cu.die(cu.first_die)
                    if top is None:
                        continue
                    attrs = top[2]
                    base = attr_addr(cu, attrs[0x11][1]) if 0x11 in attrs else 0  # DW_AT_low_pc
                    cu._set_bases(attrs)
                    out.extend((lo, hi, off) for lo, hi in die_ranges(cu, attrs, base))
                except (Corrupt, Unsupported, IndexError, ValueError, KeyError, struct.error):
                    continue
        out.sort()
        return out

    def _cus_for(self, addr: int) -> list[int]:
        i = bisect.bisect_right(self._ranges, (addr, 1 << 64, 1 << 64)) - 1
        found = []
        while i >= 0 and len(found) < 4:
            lo, hi, off = self._ranges[i]
            if lo <= addr < hi:
                found.append(off)
            elif addr - lo > 1 << 24:
                break
            i -= 1
        return found

    def _make_index(self, acc: _Acc) -> Index:
        arrays = dict(self._symbol_arrays)
        arrays.update(dwarf_arrays(acc))
        return Index.in_memory(as_views(arrays), self.meta)

    def _cu(self, off: int) -> Any:
        if off in self._cus:
            return self._cus[off]
        cu = self.store.get(off) if self.store is not None else None
        if cu is not None and off in self._prefetched:
            self.parsed_cus += 1  # parsed by this reader's children, handed over through the store
        elif cu is not None:
            self.stored_cus += 1
        else:
            try:
                cu = self.fast.read(off)
            except (Corrupt, Unsupported, IndexError, ValueError, KeyError, struct.error):
                cu = None
            self.parsed_cus += 1
            if cu is not None and self.store is not None:
                self.store.put(off, cu)
        if cu is not None and cu.comp_dir:
            self._comp_dirs[cu.comp_dir] += 1
        self._cus[off] = cu
        return cu

    def prefetch(self, addrs: list[int], workers: int | None = None) -> None:
        """Read the CUs these addresses need before they are asked for, several processes at once when
        there are many: each child parses its share into the store, the parent reads them back from it."""
        from .unitreads import index_workers

        wanted = sorted({off for a in addrs for off in self._cus_for(a)} - set(self._cus))
        if self.store is not None and self.store.usable:
            wanted = [off for off in wanted if off not in self.store.offsets()] if wanted else []
        n = min(index_workers(workers), len(wanted) // PREFETCH_PER_WORKER)
        if self.store is None or not self.store.usable or n < 2:
            return  # few CUs, or nowhere to hand them over: read them one by one when asked
        children = []
        for k in range(n):
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    for off in wanted[k::n]:
                        with contextlib.suppress(Corrupt, Unsupported, IndexError, ValueError, KeyError,
                                                 struct.error):
                            self.store.put(off, self.fast.read(off))
                    code = 0
                finally:
                    os._exit(code)
            children.append(pid)
        for pid in children:
            os.waitpid(pid, 0)
        self._prefetched.update(wanted)

    def _index_for(self, addr: int) -> Index:
        """An index of just the CUs that claim `addr` (usually one), as addr2line consults them."""
        key = tuple(sorted(self._cus_for(addr)))
        index = self._by_cus.get(key)
        if index is None:
            acc = _Acc()
            for off in key:
                cu = self._cu(off)
                if cu is not None:
                    acc.add(cu)
            index = self._by_cus[key] = self._make_index(acc)
        return index

    # --- the Index interface the decoder uses ---

    @property
    def basepath(self) -> str:
        comp = self._comp_dirs.most_common(1)
        return comp[0][0] if comp else ""

    def lookup(self, addr: int) -> list[Location]:
        return self._index_for(addr).lookup(addr)

    def relative(self, path: str) -> str:
        base = self.basepath
        if base and path.startswith(base + "/"):
            return path[len(base) + 1:]
        return path

    def symbols_named(self, name: str) -> list[tuple[int, int, bool]]:
        return self._symbols.symbols_named(name)

    def symbol_address(self, name: str) -> int | None:
        return self._symbols.symbol_address(name)

    def symbol_at(self, addr: int) -> tuple[str, int, int] | None:
        return self._symbols.symbol_at(addr)

    def kallsyms_size(self, addr: int) -> int | None:
        return self._symbols.kallsyms_size(addr)

    def kallsyms_sizes(self, addr: int) -> set[int]:
        return self._symbols.kallsyms_sizes(addr)

    def no_line_answer(self, addr: int) -> str | None:
        return self._symbols.no_line_answer(addr)

    def close(self) -> None:
        self._stream.close()
