"""The index's arrays (layout.TYPECODES): the accumulated CUs and the symbol table as sorted arrays,
string tables and sorted views, and writing them into ARRAYS_FILE and meta.json."""

from __future__ import annotations

import json
import sys
from array import array
from pathlib import Path
from typing import Any

import numpy as np

from .accumulator import _Acc
from .layout import ARRAYS_FILE, TYPECODES
from .symbols import SymbolArrays


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
