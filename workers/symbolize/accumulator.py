"""The index builder's accumulator: CUs' line rows, functions and ranges as growing typed arrays.

Compact `array`s rather than lists of tuples, since the build walks hundreds of CUs (millions of rows
for a distribution kernel); a forked reader's accumulator is merged into the parent's with `extend`.
"""

from __future__ import annotations

from array import array
from collections import Counter
from typing import Any

import numpy as np


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
