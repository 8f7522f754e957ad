"""A worker's local cache of files it fetched or made (decompressed vmlinux files, indexes, modules).

Any worker on any machine can decode any build: what it needs is fetched from shared storage into this
folder once, then reused. Entries are keyed (by build-id for a vmlinux and its index), bounded in
bytes, and the least recently used go first. Several worker processes share one folder safely:

- an entry is made in `tmp/` and renamed into `entries/` (readers see all of it or nothing);
- a process using an entry holds a shared flock on `locks/<key>`; filling takes it exclusively, so two
  processes that miss the same key at once fetch it once; eviction only removes entries whose lock it
  gets exclusively at once (nobody is using them), and the last use is the lock file's mtime.

Entries are evicted after each fill, so the folder can pass the limit by the entries in use (they are
removed by a later fill once released). A memory-mapped index that is evicted stays readable by the
process that mapped it (Linux keeps an unlinked file until it is unmapped). No Django here.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


@dataclass
class Entry:
    key: str
    bytes: int
    last_used: float


def disk_use(path: Path) -> int:
    """Bytes a file or folder takes on disk (allocated blocks, as du counts them)."""
    try:
        if path.is_symlink() or path.is_file():
            return path.lstat().st_blocks * 512
        return sum(p.lstat().st_blocks * 512 for p in path.rglob("*") if not p.is_symlink()) + path.lstat().st_blocks * 512
    except FileNotFoundError:
        return 0


class BuildCache:
    """Entries (a file or a folder each) under `root`, at most about `limit` bytes in all."""

    def __init__(self, root: str | os.PathLike[str], limit: int) -> None:
        self.root = Path(root)
        self.limit = limit
        for sub in ("entries", "locks", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        if not SAFE_KEY.match(key):
            raise ValueError(f"not a cache key: {key!r}")
        return self.root / "entries" / key

    def _lock(self, key: str) -> int:
        return os.open(self.root / "locks" / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o644)

    @contextlib.contextmanager
    def entry(self, key: str, fill: Callable[[Path], None]) -> Iterator[Path]:
        """The complete entry `key`, made by `fill(tmp_path)` (a file or a folder at tmp_path) when it is
        missing; nobody evicts it until the block ends."""
        path = self.path(key)
        fd = self._lock(key)
        try:
            while True:
                fcntl.flock(fd, fcntl.LOCK_SH)
                if path.exists():
                    break
                fcntl.flock(fd, fcntl.LOCK_EX)  # a miss: one process fills, the others wait for it
                filled = False
                if not path.exists():
                    self._fill(path, fill)
                    filled = True
                fcntl.flock(fd, fcntl.LOCK_SH)  # not atomic: an evictor may slip in, hence the loop
                if filled:
                    os.utime(self.root / "locks" / f"{key}.lock")
                    self.evict()
                if path.exists():
                    break
            os.utime(self.root / "locks" / f"{key}.lock")
            yield path
        finally:
            os.close(fd)  # releases the lock

    def _fill(self, path: Path, fill: Callable[[Path], None]) -> None:
        work = Path(tempfile.mkdtemp(prefix=f"{path.name}-", dir=self.root / "tmp"))
        try:
            fill(work / "new")
            if not (work / "new").exists():
                raise FileNotFoundError(f"filling the cache entry {path.name} made nothing")
            os.rename(work / "new", path)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def adopt(self, key: str, source: Path) -> None:
        """Move an existing local file or folder in as entry `key` (dropped if the entry exists)."""
        def move(dest: Path) -> None:
            os.rename(source, dest)
        with self.entry(key, move):
            pass
        if source.exists():  # someone else made the entry first
            shutil.rmtree(source) if source.is_dir() else source.unlink()

    def entries(self) -> list[Entry]:
        out = []
        for path in (self.root / "entries").iterdir():
            try:
                used = (self.root / "locks" / f"{path.name}.lock").stat().st_mtime
            except FileNotFoundError:
                used = 0.0
            out.append(Entry(path.name, disk_use(path), used))
        return sorted(out, key=lambda e: e.last_used)

    def usage(self) -> int:
        return sum(e.bytes for e in self.entries())

    def evict(self) -> list[str]:
        """Remove the least recently used entries nobody is using until the cache fits its limit."""
        entries = self.entries()
        total = sum(e.bytes for e in entries)
        gone = []
        for entry in entries:
            if total <= self.limit:
                break
            fd = self._lock(entry.key)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # in use
                trash = Path(tempfile.mkdtemp(prefix="evicted-", dir=self.root / "tmp"))
                try:
                    os.rename(self.path(entry.key), trash / "old")
                except FileNotFoundError:
                    continue
                finally:
                    shutil.rmtree(trash, ignore_errors=True)
                total -= entry.bytes
                gone.append(entry.key)
            finally:
                os.close(fd)
        return gone
