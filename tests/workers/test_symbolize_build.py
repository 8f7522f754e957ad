"""The index build: read by several processes, reusing the CUs a lazy reader kept, same answers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from workers.symbolize import CUStore, Index, LazyIndex, build_index, store_dir_for, unitreads
from workers.symbolize import index as index_module

UNIT = r"""
static inline __attribute__((always_inline)) int scale_{n}(int x) {{ return x * {n} + (x >> 2); }}
int work_{n}(int a, int b)
{{
	int s = 0;
	for (int i = 0; i < a; i++)
		s += scale_{n}(i ^ b) + s;
	return s;
}}
"""


def program(tmp_path: Path, units: int = 14) -> Path:
    """A linked program of `units` compile units (plus main), with DWARF 5 and inlining."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    sources = []
    for n in range(units):
        src = tmp_path / f"unit{n}.c"
        src.write_text(UNIT.format(n=n))
        sources.append(str(src))
    main = tmp_path / "main.c"
    main.write_text("".join(f"int work_{n}(int, int);\n" for n in range(units)) +
                    "int main(int c, char **v) { return " +
                    " + ".join(f"work_{n}(c, v[0][0])" for n in range(units)) + "; }\n")
    out = tmp_path / "prog"
    subprocess.run(["gcc", "-O2", "-g", "-gdwarf-5", *sources, str(main), "-o", str(out)], check=True)
    return out


def answers(index, binary: Path) -> list:
    from elftools.elf.elffile import ELFFile

    with open(binary, "rb") as f:
        text = ELFFile(f).get_section_by_name(".text")
        lo, hi = text["sh_addr"], text["sh_addr"] + text["sh_size"]
    return [index.lookup(a) for a in range(lo, hi)]


def test_a_build_in_several_processes_writes_the_same_index_as_one(tmp_path: Path, monkeypatch) -> None:
    binary = program(tmp_path)
    one = build_index(binary, tmp_path / "one", workers=1)
    monkeypatch.setattr(index_module, "PARALLEL_MIN_BYTES", 0)  # the program is tiny: fork anyway
    forks = []
    real_fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: forks.append(1) or real_fork())
    two = build_index(binary, tmp_path / "two", workers=3)
    assert len(forks) == 3
    assert one.cus == two.cus >= 15 and one.line_rows == two.line_rows and one.functions == two.functions
    assert (tmp_path / "one" / "arrays.bin").read_bytes() == (tmp_path / "two" / "arrays.bin").read_bytes()


def test_a_reader_process_that_dies_has_its_compile_units_read_by_the_parent(tmp_path: Path, monkeypatch) -> None:
    binary = program(tmp_path)
    build_index(binary, tmp_path / "one", workers=1)
    monkeypatch.setattr(index_module, "PARALLEL_MIN_BYTES", 0)
    real = unitreads._read_units
    parent = os.getpid()

    in_parent = []

    def killed_in_children(*args, **kwargs):
        if os.getpid() != parent and args[3][0] != 0:  # every child but the first is killed mid-build
            os.kill(os.getpid(), signal.SIGKILL)
        if os.getpid() == parent:
            in_parent.append(args[3])
        return real(*args, **kwargs)

    monkeypatch.setattr(unitreads, "_read_units", killed_in_children)
    info = build_index(binary, tmp_path / "two", workers=3)
    assert info.failed_cus == 0 and len(in_parent) == 2  # the two killed children's runs of CUs
    assert (tmp_path / "one" / "arrays.bin").read_bytes() == (tmp_path / "two" / "arrays.bin").read_bytes()


def test_lazy_readers_keep_compile_units_for_the_next_reader_and_the_build(tmp_path: Path) -> None:
    binary = program(tmp_path)
    index_dir = tmp_path / "cache" / "index"
    store = store_dir_for(index_dir)
    assert store.parent == index_dir.parent  # beside the index, in the folder its caller chose
    first = LazyIndex(binary, store)
    try:
        start = first.symbol_address("work_3")
        assert start is not None
        want = first.lookup(start + 8)
        assert want and first.parsed_cus >= 1 and first.stored_cus == 0
    finally:
        first.close()
    kept = {p.name for p in store.iterdir() if p.name.endswith(".cu")}
    assert kept

    second = LazyIndex(binary, store)
    try:
        assert second.lookup(start + 8) == want
        assert second.parsed_cus == 0 and second.stored_cus >= 1  # read back, not parsed again
    finally:
        second.close()

    info = build_index(binary, index_dir)
    assert info.stored_cus == len(kept)
    assert not store.exists()  # the complete index supersedes the kept CUs
    fresh = build_index(binary, tmp_path / "fresh")
    assert fresh.stored_cus == 0
    assert answers(Index(index_dir), binary) == answers(Index(tmp_path / "fresh"), binary)


def test_a_store_of_another_build_is_not_used(tmp_path: Path) -> None:
    store = CUStore(tmp_path / "s", "build-a")
    from workers.symbolize.dwarfread import CURows

    store.put(0, CURows(files=["a.c"], rows=[(0x10, 0, 1, 0)]))
    assert store.get(0) is not None
    assert CUStore(tmp_path / "s", "build-b").get(0) is None
    assert json.loads((tmp_path / "s" / "store.json").read_text())["identity"] == "build-b"


def test_a_damaged_stored_unit_is_parsed_again(tmp_path: Path) -> None:
    binary = program(tmp_path, units=2)
    store = tmp_path / "store"
    lazy = LazyIndex(binary, store)
    try:
        start = lazy.symbol_address("work_1")
        want = lazy.lookup(start + 8)
    finally:
        lazy.close()
    assert (store / "symbols.npz").exists()  # the symbol side is kept too
    for p in [*store.glob("*.cu"), store / "symbols.npz"]:
        p.write_bytes(b"\x00garbage")
    again = LazyIndex(binary, store)
    try:
        assert again.symbol_address("work_1") == start
        assert again.lookup(start + 8) == want and again.parsed_cus >= 1
    finally:
        again.close()


def test_decoding_with_an_index_loads_neither_numpy_nor_pyelftools_nor_capstone(tmp_path: Path) -> None:
    """A `triage decode` process imports only what decoding needs (its start-up is most of its time)."""
    binary = program(tmp_path, units=2)
    build_index(binary, tmp_path / "index")
    start = Index(tmp_path / "index").symbol_address("work_1")
    assert start is not None
    log = tmp_path / "trace.log"
    log.write_text("Call Trace:\n work_1+0x8/0x40\n")
    code = ("import sys; from workers.cli import main; rc = main(sys.argv[1:]); "
            "heavy = sorted(m for m in ('numpy', 'elftools', 'capstone', 'django', 'celery') if m in sys.modules); "
            "print('HEAVY', heavy); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code, "decode", "--vmlinux", str(tmp_path / "index"), str(log)],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr
    assert "work_1 (" in proc.stdout and "unit1.c:" in proc.stdout
    assert "HEAVY []" in proc.stdout


def test_a_lazy_reader_reads_the_units_of_many_frames_in_several_processes(tmp_path: Path, monkeypatch) -> None:
    from workers.symbolize import lazy as lazy_module

    binary = program(tmp_path)
    build_index(binary, tmp_path / "full")
    full = Index(tmp_path / "full")
    monkeypatch.setattr(lazy_module, "PREFETCH_PER_WORKER", 1)
    forks = []
    real_fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: forks.append(1) or real_fork())
    lazy = LazyIndex(binary, tmp_path / "store")
    try:
        addrs = [lazy.symbol_address(f"work_{n}") + 8 for n in range(14)]
        lazy.prefetch(addrs, workers=3)
        assert len(forks) == 3 and len(list((tmp_path / "store").glob("*.cu"))) >= 14
        assert [lazy.lookup(a) for a in addrs] == [full.lookup(a) for a in addrs]
        assert lazy.parsed_cus >= 14 and lazy.stored_cus == 0  # parsed by its children, not found from before
    finally:
        lazy.close()
