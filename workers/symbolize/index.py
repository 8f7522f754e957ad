"""The persistent per-build index: line table, function/inline tree and symbols as sorted arrays.

Built once per kernel build (a Celery task calls `build_index`), read many times with `lookup.Index`
(one memory-mapped file: a decode does not re-read DWARF, parses nothing in proportion to the index
and starts in a millisecond). The format is in layout.py; the arrays are:
  line_addr        uint64, sorted; line_file int32 (-1 = no line: a gap between sequences),
                   line_no uint32, line_disc uint32 (discriminator)
  seg_addr         uint64, sorted starts of address segments; seg_node int32 = innermost function node
  node_name uint32, node_parent int32, node_call_file int32, node_call_line uint32
  sym_addr uint64, sym_size uint64, sym_kind uint8   (code symbols in symbol-table order)
  sym_file int32: index into the symbol_files strings (STT_FILE names), -1 for none
  cu_start, cu_end uint64: merged address ranges claimed by CUs (addr2line ignores line rows outside)
  sym_by_name, sym_order, sym_order_addr, ks_addr, ks_code_addr: sorted views (layout.TYPECODES)
  files / names / symbols / symbol_files: string tables (blob + offsets)
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import struct
import sys
import tempfile
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from .custore import CUStore, store_dir_for
from .dwarfread import SKIPPED_SECTIONS, CUReader, LeanELFFile
from .elffile import SymbolizeError, identify_elf, is_ppc64_elfv1, open_elf, uncompressed
from .fastdwarf import Corrupt, FastDwarf, Unsupported
from .layout import ARRAYS_FILE, FORMAT_VERSION, TYPECODES
from .symbols import SymbolArrays, read_code_symbols

ProgressFn = Callable[[int, int], None]
PARALLEL_MIN_BYTES = 8 << 20  # smaller .debug_info (modules, tests) is read in-process: a fork costs more


@dataclass
class IndexInfo:
    path: str
    build_id: str | None
    release: str | None
    arch: str | None
    banner: str | None
    cus: int
    line_rows: int
    functions: int
    symbols: int
    basepath: str
    seconds: float
    max_rss_mib: float
    ppc64_elfv1: bool = False
    failed_cus: int = 0
    pyelftools_cus: int = 0  # CUs the fast reader refused, read by pyelftools instead
    stored_cus: int = 0  # CUs a lazy reader had kept (custore.py), not parsed again
    format: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Acc:
    """Growing typed arrays (compact while the build walks hundreds of CUs)."""

    def __init__(self) -> None:
        self.files: dict[str, int] = {}
        self.names: dict[str, int] = {}
        self.l_addr, self.l_file, self.l_no, self.l_disc = array("Q"), array("i"), array("I"), array("I")
        self.n_name, self.n_parent, self.n_cfile, self.n_cline = array("I"), array("i"), array("i"), array("I")
        self.i_lo, self.i_hi, self.i_node, self.i_depth = array("Q"), array("Q"), array("I"), array("H")
        self.comp_dirs: Counter[str] = Counter()
        self.cu_ranges = array("Q")  # flat lo, hi pairs

    def _id(self, table: dict[str, int], key: str) -> int:
        got = table.get(key)
        if got is None:
            got = table[key] = len(table)
        return got

    def extend(self, other: _Acc) -> None:
        """Append another accumulator's CUs (read after this one's, e.g. by another process)."""
        fmap = np.array([self._id(self.files, f) for f in other.files], dtype=np.int64)
        nmap = np.array([self._id(self.names, n) for n in other.names], dtype=np.int64)
        self.comp_dirs.update(other.comp_dirs)
        self.cu_ranges.extend(other.cu_ranges)
        self.l_addr.extend(other.l_addr)
        self.l_file.extend(_remap(other.l_file, fmap, "i"))
        self.l_no.extend(other.l_no)
        self.l_disc.extend(other.l_disc)
        base = len(self.n_name)
        self.n_name.extend(_remap(other.n_name, nmap, "I"))
        self.n_parent.extend(_remap(other.n_parent, np.arange(len(other.n_name), dtype=np.int64) + base, "i"))
        self.n_cfile.extend(_remap(other.n_cfile, fmap, "i"))
        self.n_cline.extend(other.n_cline)
        self.i_lo.extend(other.i_lo)
        self.i_hi.extend(other.i_hi)
        self.i_node.extend(_remap(other.i_node, np.arange(len(other.n_name), dtype=np.int64) + base, "I"))
        self.i_depth.extend(other.i_depth)

    def add(self, cu: Any) -> None:
        fmap = [self._id(self.files, f) for f in cu.files]
        if cu.comp_dir:
            self.comp_dirs[cu.comp_dir] += 1
        # binutils finds a CU for an address through the CU's ranges and also through the ranges of its
        # functions (they go into the same lookup trie); rows outside both are never consulted
        ranges = self.cu_ranges
        for lo, hi in cu.cu_ranges:
            ranges.extend((lo, hi))
        for lo, hi, _node, depth in cu.intervals:
            if depth == 0:
                ranges.extend((lo, hi))
        if not cu.cu_ranges and not cu.intervals:
            # a CU without any address range (e.g. only compiler-made constructors) is searched by
            # line table for every address: its sequences count as covered
            start = None
            for addr, f, _line, _disc in cu.rows:
                if start is None:
                    start = addr
                if f == -1:
                    if addr > start:
                        ranges.extend((start, addr))
                    start = None
        for addr, f, line, disc in _live_rows(cu.rows):
            self.l_addr.append(addr)
            self.l_file.append(fmap[f] if f >= 0 else f)
            self.l_no.append(line)
            self.l_disc.append(disc)
        base = len(self.n_name)
        for name, parent, cfile, cline in cu.nodes:
            self.n_name.append(self._id(self.names, name))
            self.n_parent.append(parent + base if parent >= 0 else -1)
            self.n_cfile.append(fmap[cfile] if cfile >= 0 else -1)
            self.n_cline.append(cline)
        for lo, hi, node, depth in cu.intervals:
            self.i_lo.append(lo)
            self.i_hi.append(hi)
            self.i_node.append(node + base)
            self.i_depth.append(min(depth, 65535))


def _remap(values: array, table: np.ndarray, typecode: str) -> array:
    """`values` with every index >= 0 replaced by table[index] (negative markers kept)."""
    arr = np.frombuffer(values, dtype=np.dtype(typecode)).astype(np.int64)
    if len(table):
        ok = arr >= 0
        arr[ok] = table[arr[ok]]
    out = array(typecode)
    out.frombytes(arr.astype(np.dtype(typecode)).tobytes())
    return out


def _live_rows(rows: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Drop rows that cover nothing: those at the address where their own sequence ends (they would
    otherwise hide the end_sequence marker and seem to run on into the next object's code)."""
    out: list[tuple[int, int, int, int]] = []
    for row in rows:
        if row[1] == -1:
            while out and out[-1][0] == row[0] and out[-1][1] != -1:
                out.pop()
        out.append(row)
    return out


def _line_table(acc: _Acc) -> tuple[np.ndarray, ...]:
    """Sorted rows; when rows share an address the last one in program order wins, but a real row always
    beats an end_sequence marker (a sequence may start where another ends)."""
    addr = np.frombuffer(acc.l_addr, dtype=np.uint64)
    fil = np.frombuffer(acc.l_file, dtype=np.int32)
    real = (fil != -1).astype(np.uint8)
    order = np.lexsort((np.arange(len(addr)), real, addr))
    addr_s = addr[order]
    last = np.ones(len(order), dtype=bool)
    if len(order) > 1:
        last[:-1] = addr_s[1:] != addr_s[:-1]
    keep = order[last]
    return (addr[keep].copy(), fil[keep].copy(), np.frombuffer(acc.l_no, dtype=np.uint32)[keep].copy(),
            np.frombuffer(acc.l_disc, dtype=np.uint32)[keep].copy())


def _segments(acc: _Acc) -> tuple[np.ndarray, np.ndarray]:
    """Flatten nested function/inline intervals into (segment start, innermost node) pairs."""
    lo = np.frombuffer(acc.i_lo, dtype=np.uint64)
    hi = np.frombuffer(acc.i_hi, dtype=np.uint64)
    node = np.frombuffer(acc.i_node, dtype=np.uint32)
    depth = np.frombuffer(acc.i_depth, dtype=np.uint16)
    # parents first: by start, then longest first, then shallowest first
    order = np.lexsort((depth, ~hi, lo))
    out_a = array("Q")  # compact: a distribution kernel has millions of segments
    out_n = array("i")

    def emit(a: int, n: int) -> None:
        if out_a and out_a[-1] == a:
            out_n[-1] = n
            if len(out_n) > 1 and out_n[-2] == n:
                out_a.pop()
                out_n.pop()
        elif not out_n or out_n[-1] != n:
            out_a.append(a)
            out_n.append(n)

    stack: list[tuple[int, int]] = []

    def sorted_intervals():  # in chunks: a million Python ints at once would cost ~100 MB
        for k in range(0, len(order), 1 << 16):
            part = order[k:k + (1 << 16)]
            yield from zip(lo[part].tolist(), hi[part].tolist(), node[part].tolist(), strict=True)

    for l_, h_, n_ in sorted_intervals():
        while stack and stack[-1][0] <= l_:
            h, _ = stack.pop()
            emit(h, stack[-1][1] if stack else -1)
        if stack and h_ > stack[-1][0]:
            h_ = stack[-1][0]  # overlapping rather than nested: clip to the enclosing interval
        if h_ <= l_:
            continue
        stack.append((h_, n_))
        emit(l_, n_)
    while stack:
        h, _ = stack.pop()
        emit(h, stack[-1][1] if stack else -1)
    return np.frombuffer(out_a, dtype=np.uint64).copy(), np.frombuffer(out_n, dtype=np.int32).copy()


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


def _coverage(flat: array) -> tuple[np.ndarray, np.ndarray]:
    pairs = np.frombuffer(flat, dtype=np.uint64).reshape(-1, 2)
    pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
    merged: list[list[int]] = []
    for lo, hi in pairs.tolist():
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(hi, merged[-1][1])
        else:
            merged.append([lo, hi])
    arr = np.array(merged, dtype=np.uint64).reshape(-1, 2)
    return arr[:, 0].copy(), arr[:, 1].copy()


def _string_table(strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """A blob of UTF-8 strings and the offsets of each (count + 1 entries)."""
    encoded = [s.encode("utf-8", "surrogateescape") for s in strings]
    offsets = np.zeros(len(encoded) + 1, dtype=np.uint64)
    if encoded:
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets


def _symbol_orders(symbols: SymbolArrays) -> dict[str, np.ndarray]:
    """The sorted views a reader needs (by name, by address) and kallsyms' addresses."""
    n = len(symbols.names)
    encoded = [name.encode("utf-8", "surrogateescape") for name in symbols.names]
    by_name = np.array(sorted(range(n), key=encoded.__getitem__), dtype=np.uint32)  # stable: table order kept
    addr = np.asarray(symbols.addr, dtype=np.uint64)
    by_addr = np.lexsort((np.arange(n), np.asarray(symbols.size) == 0, addr)).astype(np.uint32)
    ks = symbols.ks_addr if symbols.ks_addr is not None else np.unique(addr)
    ks_code = symbols.ks_code_addr if symbols.ks_code_addr is not None else np.unique(addr)
    return {"sym_by_name": by_name, "sym_order": by_addr, "sym_order_addr": addr[by_addr],
            "ks_addr": np.asarray(ks, dtype=np.uint64), "ks_code_addr": np.asarray(ks_code, dtype=np.uint64)}


def dwarf_arrays(acc: _Acc) -> dict[str, np.ndarray]:
    """The arrays that come from DWARF (lines, functions, CU ranges, their strings)."""
    la, lf, ln, ld = _line_table(acc)
    sa, sn = _segments(acc)
    cs, ce = _coverage(acc.cu_ranges)
    arrays = {
        "cu_start": cs, "cu_end": ce,
        "line_addr": la, "line_file": lf, "line_no": ln, "line_disc": ld, "seg_addr": sa, "seg_node": sn,
        "node_name": np.frombuffer(acc.n_name, dtype=np.uint32).copy(),
        "node_parent": np.frombuffer(acc.n_parent, dtype=np.int32).copy(),
        "node_call_file": np.frombuffer(acc.n_cfile, dtype=np.int32).copy(),
        "node_call_line": np.frombuffer(acc.n_cline, dtype=np.uint32).copy(),
    }
    for table, values in (("files", list(acc.files)), ("names", list(acc.names))):
        arrays[f"{table}_blob"], arrays[f"{table}_off"] = _string_table(values)
    return arrays


def symbol_arrays(symbols: SymbolArrays) -> dict[str, np.ndarray]:
    """The arrays that come from the symbol table (and their sorted views)."""
    arrays = {
        "sym_addr": symbols.addr, "sym_size": symbols.size, "sym_kind": symbols.kind,
        "sym_file": symbols.file if symbols.file is not None else np.full(len(symbols.names), -1, np.int32),
    }
    arrays.update(_symbol_orders(symbols))
    for table, values in (("symbols", symbols.names), ("symbol_files", symbols.file_names or [])):
        arrays[f"{table}_blob"], arrays[f"{table}_off"] = _string_table(values)
    return arrays


def index_arrays(acc: _Acc, symbols: SymbolArrays) -> dict[str, np.ndarray]:
    """Every array of the index (layout.TYPECODES, string tables included)."""
    return {**dwarf_arrays(acc), **symbol_arrays(symbols)}


def as_views(arrays: dict[str, np.ndarray]) -> dict[str, memoryview]:
    """The arrays as the typed memoryviews lookup.Index reads (for an index kept in memory)."""
    return {name: memoryview(np.ascontiguousarray(arrays[name], dtype=np.dtype(code))).cast("B").cast(code)
            for name, code in TYPECODES.items()}


def write_arrays(arrays: dict[str, np.ndarray], out_dir: Path) -> dict[str, list[Any]]:
    """Write every array into ARRAYS_FILE; returns {name: [typecode, offset, count]} for meta.json."""
    where: dict[str, list[Any]] = {}
    offset = 0
    with open(out_dir / ARRAYS_FILE, "wb") as f:
        for name, typecode in TYPECODES.items():
            arr = np.ascontiguousarray(arrays[name], dtype=np.dtype(typecode))
            pad = -offset % 8
            f.write(b"\0" * pad)
            offset += pad
            f.write(arr.tobytes())
            where[name] = [typecode, offset, int(len(arr))]
            offset += arr.nbytes
    return where


def write_index(acc: _Acc, symbols: SymbolArrays, out_dir: Path, meta: dict[str, Any]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    arrays = index_arrays(acc, symbols)
    where = write_arrays(arrays, out_dir)
    meta = dict(meta, line_rows=int(len(arrays["line_addr"])), functions=len(acc.n_name), arrays=where,
                byteorder=sys.byteorder)
    # meta.json last: its presence marks a complete index
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=1))


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


def max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@dataclass
class _Part:
    """What one process read: its CUs' accumulated rows and counts."""

    acc: _Acc
    cus: int = 0
    failed: int = 0
    slow: int = 0
    stored: int = 0  # taken from the CU store instead of parsed
    deferred: list[int] = field(default_factory=list)  # for the parent's pyelftools (see _read_units)


def _read_units(fast: FastDwarf, dwarf_elf: Any, keep: Callable[[int], bool], offsets: list[int],
                store: CUStore | None, tick: Callable[[], None], forked: bool = False) -> _Part:
    """Read these CUs into one accumulator. In a forked child (`forked`) the CUs the fast reader refuses
    are left in `part.deferred` for the parent: pyelftools reads through the shared file position."""
    part = _Part(_Acc())
    slow = None  # pyelftools, only for units the fast reader refuses
    for off in offsets:
        part.cus += 1
        tick()
        cu = store.get(off) if store is not None else None
        if cu is not None:
            part.stored += 1
            part.acc.add(cu)
            continue
        try:
            part.acc.add(fast.read(off))
        except (Corrupt, IndexError, ValueError, KeyError, struct.error):
            part.failed += 1  # broken data: skip the CU, counted in failed_cus
        except Unsupported:
            if forked:
                part.deferred.append(off)
                continue
            try:
                if slow is None:
                    slow = CUReader(dwarf_elf.get_dwarf_info(relocate_dwarf_sections=False, follow_links=False),
                                    keep)
                part.acc.add(slow.read(off))
                part.slow += 1
            except Exception:  # one broken CU must not lose the others; counted in failed_cus
                part.failed += 1
    return part


def index_workers(requested: int | None = None) -> int:
    """Processes for an index build: `requested`, else $TRIAGE_INDEX_WORKERS, else the cores we may use."""
    if requested:
        return max(1, requested)
    with contextlib.suppress(ValueError):
        env = int(os.environ.get("TRIAGE_INDEX_WORKERS", ""))
        if env > 0:
            return env
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _split(offsets: list[int], end: int, parts: int) -> list[list[int]]:
    """Consecutive runs of CUs of about equal bytes (a CU's cost follows its size)."""
    bounds = [*offsets[1:], end]
    total = max(end - (offsets[0] if offsets else 0), 1)
    out: list[list[int]] = [[] for _ in range(parts)]
    for off, nxt in zip(offsets, bounds, strict=True):
        k = min(parts - 1, (off - offsets[0]) * parts // total)
        out[k].append(off)
        del nxt
    return [chunk for chunk in out if chunk]


def _read_parallel(fast: FastDwarf, dwarf_elf: Any, keep: Callable[[int], bool], offsets: list[int],
                   store: CUStore | None, workers: int, progress: ProgressFn | None, tmpdir: Path) -> Iterator[_Part]:
    """Read the CUs in `workers` forked processes (each a run of consecutive CUs); parts in CU order,
    loaded one at a time so that the parent holds one part besides what it merged.

    Forked by hand rather than with multiprocessing: a Celery prefork worker is a daemon process,
    which multiprocessing refuses to give children. A child that dies has its CUs read here instead."""
    import pickle
    import select

    chunks = _split(offsets, fast.info_size, workers)
    children: list[tuple[int, int, Path, list[int]]] = []
    for k, chunk in enumerate(chunks):
        out = tmpdir / f"part-{k}.pickle"
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: read, pickle, leave without running the parent's exit handlers
            code = 1
            try:
                os.close(r)
                part = _read_units(fast, dwarf_elf, keep, chunk, store, lambda w=w: os.write(w, b"."), True)
                with open(out, "wb") as f:
                    pickle.dump(part, f, protocol=pickle.HIGHEST_PROTOCOL)
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        children.append((pid, r, out, chunk))
    done = 0
    open_pipes = {r for _pid, r, _out, _chunk in children}
    while open_pipes:
        ready, _, _ = select.select(list(open_pipes), [], [])
        for r in ready:
            got = os.read(r, 4096)
            if not got:
                open_pipes.discard(r)
                os.close(r)
                continue
            done += len(got)
            if progress is not None:
                progress(min(done, len(offsets)), len(offsets))
    statuses = {pid: os.waitpid(pid, 0)[1] for pid, _r, _out, _chunk in children}
    for pid, _r, out, chunk in children:
        part = None
        if statuses[pid] == 0:
            try:
                with open(out, "rb") as f:
                    part = pickle.load(f)
            except (OSError, EOFError, pickle.UnpicklingError):
                part = None
        with contextlib.suppress(OSError):
            out.unlink()
        if part is None:  # the child died (OOM killer, ...): read its CUs here
            part = _read_units(fast, dwarf_elf, keep, chunk, store, lambda: None)
        elif part.deferred:
            late = _read_units(fast, dwarf_elf, keep, part.deferred, None, lambda: None)
            part.acc.extend(late.acc)
            part.slow, part.failed = part.slow + late.slow, part.failed + late.failed
        yield part


def build_from_elf(elf: Any, dwarf_elf: Any, index_dir: Path, identity: Any, section_base: dict[int, int] | None,
                   progress: ProgressFn | None = None, workers: int | None = None,
                   store: CUStore | None = None) -> IndexInfo:
    """Index an opened image (`elf` for symbols, `dwarf_elf` a LeanELFFile over the same file).

    CUs are read by `workers` processes (index_workers()); those already in `store` are taken from it."""
    start = time.monotonic()
    ranges = code_ranges(elf, section_base)
    keep = make_keep(ranges)
    symbols = read_code_symbols(elf, section_base)
    acc = _Acc()
    ncu = failed = slow_cus = stored = 0
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=index_dir.parent))
    try:
        if dwarf_elf.has_dwarf_info():
            reader, size = info_reader(dwarf_elf)
            fast = FastDwarf(_debug_sections(dwarf_elf), elf.little_endian, elf.elfclass // 8, keep, reader, size)
            offsets = fast.unit_offsets()
            n = index_workers(workers)
            parts: Iterable[_Part]
            if n > 1 and len(offsets) >= 4 * n and fast.info_size >= PARALLEL_MIN_BYTES:
                parts = _read_parallel(fast, dwarf_elf, keep, offsets, store, n, progress, tmp)
            else:
                count = [0]

                def tick() -> None:
                    count[0] += 1
                    if progress is not None:
                        progress(count[0], len(offsets))

                parts = [_read_units(fast, dwarf_elf, keep, offsets, store, tick)]
            for k, part in enumerate(parts):
                if k == 0:
                    acc = part.acc
                else:
                    acc.extend(part.acc)
                ncu, failed, slow_cus, stored = (ncu + part.cus, failed + part.failed, slow_cus + part.slow,
                                                 stored + part.stored)
                del part
            del fast, parts
        basepath = acc.comp_dirs.most_common(1)[0][0] if acc.comp_dirs else ""
        info = IndexInfo(path=str(index_dir), build_id=identity.build_id, release=identity.release,
                         arch=identity.arch, banner=identity.banner, cus=ncu, line_rows=0, functions=0,
                         symbols=len(symbols.names), basepath=basepath, seconds=0.0, max_rss_mib=0.0,
                         ppc64_elfv1=is_ppc64_elfv1(elf), failed_cus=failed,
                         pyelftools_cus=slow_cus, stored_cus=stored)
        out = tmp / "index"
        write_index(acc, symbols, out, info.to_dict())
        meta = json.loads((out / "meta.json").read_text())
        info.line_rows, info.functions = meta["line_rows"], meta["functions"]
        info.seconds = round(time.monotonic() - start, 2)
        info.max_rss_mib = round(max_rss_mib(), 1)
        (out / "meta.json").write_text(json.dumps(dict(meta, **info.to_dict()), indent=1))
        return _publish(out, index_dir) or info
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def current_index(index_dir: Path) -> IndexInfo | None:
    """The complete index at `index_dir` in this FORMAT_VERSION, if there is one."""
    try:
        meta = json.loads((index_dir / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
        return None
    known = {f.name for f in fields(IndexInfo)}
    try:
        return IndexInfo(**{k: v for k, v in meta.items() if k in known})
    except TypeError:
        return None


def _publish(tmp: Path, index_dir: Path) -> IndexInfo | None:
    """Move the finished build `tmp` to `index_dir`; the existing index instead when one is complete.

    Other workers may have a complete index memory-mapped on shared storage: it is never replaced or
    deleted (the new build is dropped). Only an incomplete or old-format directory, which no reader
    opens, is moved aside and removed."""
    existing = current_index(index_dir)
    if existing is not None:
        return existing
    try:
        os.replace(tmp, index_dir)  # atomic when index_dir is absent (or an empty directory)
        return None
    except OSError:
        pass
    existing = current_index(index_dir)  # another builder finished first
    if existing is not None:
        return existing
    stale = Path(tempfile.mkdtemp(prefix=".stale-", dir=index_dir.parent))
    try:
        with contextlib.suppress(OSError):
            os.replace(index_dir, stale)
        try:
            os.replace(tmp, index_dir)
        except OSError:
            existing = current_index(index_dir)
            if existing is None:
                raise
            return existing
        return None
    finally:
        shutil.rmtree(stale, ignore_errors=True)


def build_index(vmlinux_path: str | os.PathLike[str], index_dir: str | os.PathLike[str],
                progress: ProgressFn | None = None, workers: int | None = None) -> IndexInfo:
    """Build the index of a vmlinux (or .xz/.gz/.zst of one) into `index_dir` (replaced atomically).

    `progress(done, total)` is called as compile units are read, by `workers` processes (default: one
    per core, see index_workers). CUs a lazy reader kept in store_dir_for(index_dir) are taken from
    there; the store is removed once the index is complete."""
    index_dir = Path(index_dir)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    name = Path(vmlinux_path).name
    with uncompressed(vmlinux_path, tmpdir=str(index_dir.parent)) as plain, open(plain, "rb") as stream:
        elf = open_elf(stream, name)
        if elf["e_type"] == "ET_REL":
            raise SymbolizeError(f"{name}: a relocatable object (module?), not a linked kernel image")
        try:
            identity = identify_elf(elf, stream)
            # created if absent: a lazy decode that starts during the build shares its CUs through it
            st = os.fstat(stream.fileno())
            store = CUStore(store_dir_for(index_dir), identity.build_id or f"{st.st_size}:{st.st_mtime_ns}")
            info = build_from_elf(elf, LeanELFFile(stream), index_dir, identity, None, progress, workers, store)
            store.clear()
            return info
        except SymbolizeError:
            raise
        except Exception as exc:
            raise SymbolizeError(f"{name}: cannot index: {type(exc).__name__}: {exc}") from exc
