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

The build is split by job: elfinputs (code ranges, .debug sections), unitreads (CUs read by forked
processes), accumulator (their rows as growing arrays), indexarrays (the sorted arrays and writing
them). This module runs a build and publishes it atomically; the names other code imports from here
are re-exported.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from .accumulator import _Acc, _live_rows, _remap
from .custore import CUStore, store_dir_for
from .dwarfread import LeanELFFile
from .elffile import SymbolizeError, identify_elf, is_ppc64_elfv1, open_elf, uncompressed
from .elfinputs import SHF_COMPRESSED, _debug_sections, code_ranges, info_reader, make_keep
from .fastdwarf import FastDwarf
from .indexarrays import as_views, dwarf_arrays, index_arrays, symbol_arrays, write_arrays, write_index
from .layout import FORMAT_VERSION
from .symbols import read_code_symbols
from .unitreads import ProgressFn, _Part, _read_parallel, _read_units, index_workers

__all__ = [
    "FORMAT_VERSION", "SHF_COMPRESSED", "IndexInfo", "ProgressFn", "_Acc", "_Part", "_debug_sections",
    "_live_rows", "_read_parallel", "_read_units", "_remap", "as_views", "build_from_elf", "build_index",
    "code_ranges", "current_index", "dwarf_arrays", "index_arrays", "index_workers", "info_reader",
    "make_keep", "max_rss_mib", "symbol_arrays", "write_arrays", "write_index",
]

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



def max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


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
