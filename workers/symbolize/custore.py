"""Compile units read before the full index exists, kept on disk for the next reader.

A lazy decode (a crash page before its build is indexed) reads only the CUs its frames need. Each one
is saved here as it is read, so a second lazy decode of the same build reads it back instead of parsing
DWARF again, and the full index build takes it instead of parsing it a third time. The store is a
folder beside the index (`store_dir_for`), removed once the index is complete.

One file per CU, named by its .debug_info offset, written atomically (several workers may share the
folder); `marshal` because it is the fastest safe serializer for tuples of ints and strings.
"""

from __future__ import annotations

import contextlib
import json
import marshal
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from .dwarfread import CURows
from .layout import FORMAT_VERSION


def store_dir_for(index_dir: str | os.PathLike[str]) -> Path:
    """The store of the build whose index goes to `index_dir`: a sibling folder `<index>.cus`."""
    index_dir = Path(index_dir)
    return index_dir.with_name(index_dir.name + ".cus")


class CUStore:
    """CURows by CU offset for one vmlinux (identified by build-id, else by size and mtime)."""

    def __init__(self, path: str | os.PathLike[str], identity: str) -> None:
        self.path = Path(path)
        self.identity = identity
        self.usable = True
        stamp = self.path / "store.json"
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            want = {"format": FORMAT_VERSION, "identity": identity}
            try:
                if json.loads(stamp.read_text()) != want:  # another build or format: start again
                    self.clear()
                    self.path.mkdir(parents=True, exist_ok=True)
                    self._write(stamp, json.dumps(want).encode())
            except (OSError, ValueError):
                self._write(stamp, json.dumps(want).encode())
        except OSError:
            self.usable = False  # read-only or missing storage: decode without keeping anything

    def _write(self, target: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.path)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    def get(self, offset: int) -> CURows | None:
        if not self.usable:
            return None
        try:
            data = (self.path / f"{offset}.cu").read_bytes()
            files, rows, nodes, intervals, comp_dir, cu_ranges = marshal.loads(data)
        except (OSError, ValueError, EOFError, TypeError):
            return None
        return CURows(files=files, rows=rows, nodes=nodes, intervals=intervals, comp_dir=comp_dir,
                      cu_ranges=cu_ranges)

    def put(self, offset: int, cu: CURows) -> None:
        if not self.usable:
            return
        data = marshal.dumps((cu.files, cu.rows, cu.nodes, cu.intervals, cu.comp_dir, cu.cu_ranges))
        with contextlib.suppress(OSError):
            self._write(self.path / f"{offset}.cu", data)

    def get_arrays(self, name: str) -> dict[str, Any] | None:
        """Named numpy arrays kept with put_arrays (the lazy reader's symbol side), None if absent."""
        if not self.usable:
            return None
        import numpy as np

        try:
            with np.load(self.path / name, allow_pickle=False) as saved:
                return {key: saved[key] for key in saved.files}
        except Exception:  # a damaged file (BadZipFile, ...): computed again and rewritten
            return None

    def put_arrays(self, name: str, arrays: dict[str, Any]) -> None:
        if not self.usable:
            return
        import io

        import numpy as np

        buf = io.BytesIO()
        np.savez(buf, **arrays)
        with contextlib.suppress(OSError):
            self._write(self.path / name, buf.getvalue())

    def offsets(self) -> set[int]:
        if not self.usable:
            return set()
        try:
            return {int(p.name[:-3]) for p in self.path.iterdir() if p.name.endswith(".cu")}
        except (OSError, ValueError):
            return set()

    def clear(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
