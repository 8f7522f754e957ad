"""Reading the compile units of an image into accumulators: in this process, or in forked processes
that each read a run of consecutive CUs. The fast reader (fastdwarf) reads each CU; pyelftools
(dwarfread.CUReader) only those it refuses; a CU store (custore) gives those a lazy reader kept."""

from __future__ import annotations

import contextlib
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .accumulator import _Acc
from .custore import CUStore
from .dwarfread import CUReader
from .fastdwarf import Corrupt, FastDwarf, Unsupported

ProgressFn = Callable[[int, int], None]


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
