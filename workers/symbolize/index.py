"""The persistent per-build index: line table, function/inline tree and symbols as sorted arrays.

Built once per kernel build (a Celery task calls `build_index`), read many times with `Index.load`
(memory-mapped .npy files, so a decode does not re-read DWARF and starts in milliseconds).

Layout of an index directory:
  meta.json        identity, counts, basepath (the build directory stripped from file names)
  strings.json     {"files": [...], "names": [...], "symbols": [...]}
  line_addr.npy    uint64, sorted; line_file int32 (-1 = no line: a gap between sequences),
                   line_no uint32, line_disc uint32 (discriminator)
  seg_addr.npy     uint64, sorted starts of address segments; seg_node int32 = innermost function node
  node_name uint32, node_parent int32, node_call_file int32, node_call_line uint32
  sym_addr uint64, sym_size uint64, sym_kind uint8   (code symbols in symbol-table order)
  cu_start, cu_end uint64: merged address ranges claimed by CUs (addr2line ignores line rows outside)
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import tempfile
import time
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .dwarfread import CUReader, LeanELFFile, iter_cu_offsets
from .elffile import SymbolizeError, identify_elf, is_ppc64_elfv1, open_elf, uncompressed
from .symbols import SymbolArrays, read_code_symbols

FORMAT_VERSION = 2
ProgressFn = Callable[[int, int], None]


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
        self.cu_ranges: list[tuple[int, int]] = []

    def _id(self, table: dict[str, int], key: str) -> int:
        got = table.get(key)
        if got is None:
            got = table[key] = len(table)
        return got

    def add(self, cu: Any) -> None:
        fmap = [self._id(self.files, f) for f in cu.files]
        if cu.comp_dir:
            self.comp_dirs[cu.comp_dir] += 1
        self.cu_ranges.extend(cu.cu_ranges)
        for addr, f, line, disc in cu.rows:
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
    out_a: list[int] = []
    out_n: list[int] = []

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
    for l_, h_, n_ in zip(lo[order].tolist(), hi[order].tolist(), node[order].tolist(), strict=True):
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
    return np.array(out_a, dtype=np.uint64), np.array(out_n, dtype=np.int32)


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


def _coverage(ranges: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    merged: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(hi, merged[-1][1])
        else:
            merged.append([lo, hi])
    arr = np.array(merged, dtype=np.uint64).reshape(-1, 2)
    return arr[:, 0].copy(), arr[:, 1].copy()


def write_index(acc: _Acc, symbols: SymbolArrays, out_dir: Path, meta: dict[str, Any]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    la, lf, ln, ld = _line_table(acc)
    sa, sn = _segments(acc)
    cs, ce = _coverage(acc.cu_ranges)
    arrays = {
        "cu_start": cs, "cu_end": ce,
        "line_addr": la, "line_file": lf, "line_no": ln, "line_disc": ld, "seg_addr": sa, "seg_node": sn,
        "node_name": np.frombuffer(acc.n_name, dtype=np.uint32),
        "node_parent": np.frombuffer(acc.n_parent, dtype=np.int32),
        "node_call_file": np.frombuffer(acc.n_cfile, dtype=np.int32),
        "node_call_line": np.frombuffer(acc.n_cline, dtype=np.uint32),
        "sym_addr": symbols.addr, "sym_size": symbols.size, "sym_kind": symbols.kind,
    }
    for name, arr in arrays.items():
        np.save(out_dir / f"{name}.npy", np.ascontiguousarray(arr))
    strings = {"files": list(acc.files), "names": list(acc.names), "symbols": symbols.names}
    (out_dir / "strings.json").write_text(json.dumps(strings))
    meta = dict(meta, line_rows=int(len(la)), functions=len(acc.n_name))
    # meta.json last: its presence marks a complete index
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=1))


def max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def build_from_elf(elf: Any, dwarf_elf: Any, index_dir: Path, identity: Any, section_base: dict[int, int] | None,
                   progress: ProgressFn | None = None) -> IndexInfo:
    """Index an opened image (`elf` for symbols, `dwarf_elf` a LeanELFFile over the same file)."""
    start = time.monotonic()
    ranges = code_ranges(elf, section_base)
    keep = make_keep(ranges)
    symbols = read_code_symbols(elf, section_base)
    acc = _Acc()
    ncu = failed = 0
    if dwarf_elf.has_dwarf_info():
        dwarf = dwarf_elf.get_dwarf_info(relocate_dwarf_sections=False, follow_links=False)
        offsets = list(iter_cu_offsets(dwarf))
        reader = CUReader(dwarf, keep)
        for i, off in enumerate(offsets):
            try:
                acc.add(reader.read(off))
            except Exception:  # one broken CU must not lose the others; counted in IndexInfo.failed_cus
                failed += 1
            ncu += 1
            if progress is not None:
                progress(i + 1, len(offsets))
        del dwarf, reader
    basepath = acc.comp_dirs.most_common(1)[0][0] if acc.comp_dirs else ""
    info = IndexInfo(path=str(index_dir), build_id=identity.build_id, release=identity.release,
                     arch=identity.arch, banner=identity.banner, cus=ncu, line_rows=0, functions=0,
                     symbols=len(symbols.names), basepath=basepath, seconds=0.0, max_rss_mib=0.0,
                     ppc64_elfv1=is_ppc64_elfv1(elf), failed_cus=failed)
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=index_dir.parent))
    try:
        write_index(acc, symbols, tmp, info.to_dict())
        meta = json.loads((tmp / "meta.json").read_text())
        info.line_rows, info.functions = meta["line_rows"], meta["functions"]
        info.seconds = round(time.monotonic() - start, 2)
        info.max_rss_mib = round(max_rss_mib(), 1)
        (tmp / "meta.json").write_text(json.dumps(info.to_dict(), indent=1))
        if index_dir.exists():
            shutil.rmtree(index_dir)
        os.replace(tmp, index_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return info


def build_index(vmlinux_path: str | os.PathLike[str], index_dir: str | os.PathLike[str],
                progress: ProgressFn | None = None) -> IndexInfo:
    """Build the index of a vmlinux (or .xz/.gz/.zst of one) into `index_dir` (replaced atomically).

    `progress(done, total)` is called after each compile unit."""
    index_dir = Path(index_dir)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    name = Path(vmlinux_path).name
    with uncompressed(vmlinux_path, tmpdir=str(index_dir.parent)) as plain, open(plain, "rb") as stream:
        elf = open_elf(stream, name)
        if elf["e_type"] == "ET_REL":
            raise SymbolizeError(f"{name}: a relocatable object (module?), not a linked kernel image")
        try:
            identity = identify_elf(elf, stream)
            return build_from_elf(elf, LeanELFFile(stream), index_dir, identity, None, progress)
        except SymbolizeError:
            raise
        except Exception as exc:
            raise SymbolizeError(f"{name}: cannot index: {type(exc).__name__}: {exc}") from exc
