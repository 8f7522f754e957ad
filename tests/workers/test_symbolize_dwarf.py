"""The index answers like `addr2line -f -i` on tiny programs compiled here (DWARF 4 and 5, inlining)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from workers.symbolize import Index, build_index, build_module_index

SOURCE = r"""
static inline __attribute__((always_inline)) int scale(int x)
{
	return x * 3 + (x >> 2);
}

static inline __attribute__((always_inline)) int mix(int x, int y)
{
	int r = scale(x) ^ y;
	return r + scale(y);
}

int compute(int a, int b)
{
	int s = 0;
	for (int i = 0; i < a; i++)
		s += mix(i ^ b, s);
	return s;
}

int main(int argc, char **argv)
{
	return compute(argc, argv[0][0]);
}
"""

CROSS = {
    "i386": ("gcc", "addr2line"),  # with -m32
    "riscv64": ("riscv64-linux-gnu-gcc", "riscv64-linux-gnu-addr2line"),
    "arm64": ("aarch64-linux-gnu-gcc", "aarch64-linux-gnu-addr2line"),
    "powerpc64": ("powerpc64-linux-gnu-gcc", "powerpc64-linux-gnu-addr2line"),
    "powerpc64le": ("powerpc64le-linux-gnu-gcc", "powerpc64le-linux-gnu-addr2line"),
}


def need(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (apt-get install it to run this test)")


def compile_c(tmp_path: Path, gcc: str, flags: list[str], relocatable: bool) -> Path:
    src = tmp_path / "prog.c"
    src.write_text(SOURCE)
    out = tmp_path / ("prog.o" if relocatable else "prog")
    cmd = [gcc, "-O2", "-fno-stack-protector", *flags, str(src), "-o", str(out)]
    if relocatable:
        cmd.insert(1, "-c")
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    if proc.returncode != 0:
        pytest.skip(f"{gcc} cannot build the test program here: {proc.stderr[-300:]}")
    return out


def text_range(path: Path) -> tuple[int, int]:
    from elftools.elf.elffile import ELFFile

    with open(path, "rb") as f:
        text = ELFFile(f).get_section_by_name(".text")
        return text["sh_addr"], text["sh_addr"] + text["sh_size"]


def addr2line(tool: str, binary: Path, addrs: list[int]) -> list[list[tuple[str, str]]]:
    """addr2line -f -i answers: for each address, [(function, file:line), ...] innermost first."""
    out = subprocess.run([tool, "-f", "-i", "-a", "-e", str(binary)], input="\n".join(hex(a) for a in addrs),
                         capture_output=True, text=True, check=True).stdout.splitlines()
    answers: list[list[tuple[str, str]]] = []
    i = 0
    while i < len(out):
        if out[i].startswith("0x"):
            answers.append([])
            i += 1
            continue
        answers[-1].append((out[i], out[i + 1]))
        i += 2
    return answers


def ours(index: Index, addr: int) -> list[tuple[str, str]]:
    chain = index.lookup(addr)
    if not chain:
        return [("??", "??:0")]
    disc = chain[0].discriminator
    return [(loc.function or "??", f"{loc.file}:{loc.line}" + (f" (discriminator {disc})" if disc else ""))
            for loc in chain]


def compare(index: Index, tool: str, binary: Path, lo: int, hi: int) -> None:
    addrs = list(range(lo, hi))
    want = addr2line(tool, binary, addrs)
    assert len(want) == len(addrs)
    disagree = [(hex(a), w, ours(index, a)) for a, w in zip(addrs, want, strict=True)
                if w[0][1] != "??:0" and not w[0][1].endswith(":?") and ours(index, a) != w]
    assert not disagree, disagree[:5]
    inlined = [a for a in addrs if len(index.lookup(a)) >= 3]
    assert inlined, "the test program should have two levels of inlining somewhere"


@pytest.mark.parametrize("dwarf", ["-gdwarf-4", "-gdwarf-5"])
def test_linked_program_lookups_match_addr2line(tmp_path: Path, dwarf: str) -> None:
    need("gcc", "addr2line")
    binary = compile_c(tmp_path, "gcc", ["-g", dwarf], relocatable=False)
    info = build_index(binary, tmp_path / "index")
    assert info.functions > 0 and info.line_rows > 0
    index = Index(tmp_path / "index")
    compare(index, "addr2line", binary, *text_range(binary))
    assert index.symbol_address("compute") is not None


@pytest.mark.parametrize("dwarf", ["-gdwarf-4", "-gdwarf-5"])
def test_relocatable_object_is_indexed_with_relocations_applied(tmp_path: Path, dwarf: str) -> None:
    need("gcc", "addr2line")
    obj = compile_c(tmp_path, "gcc", ["-g", dwarf], relocatable=True)
    build_module_index(obj, tmp_path / "index")
    index = Index(tmp_path / "index")
    lo, hi = text_range(obj)  # .text is the first allocated section: laid out at 0, as addr2line sees it
    compare(index, "addr2line", obj, lo, hi)


@pytest.mark.parametrize("arch", sorted(CROSS))
@pytest.mark.parametrize("dwarf", ["-gdwarf-4", "-gdwarf-5"])
def test_cross_compiled_objects_match_addr2line(tmp_path: Path, arch: str, dwarf: str) -> None:
    gcc, tool = CROSS[arch]
    need(gcc, tool)
    obj = compile_c(tmp_path, gcc, ["-g", dwarf] + (["-m32"] if arch == "i386" else []), relocatable=True)
    build_module_index(obj, tmp_path / "index")
    index = Index(tmp_path / "index")
    assert index.meta["arch"] == arch
    compare(index, tool, obj, *text_range(obj))


def _units(binary: Path) -> tuple[list, list]:
    from elftools.elf.elffile import ELFFile

    from workers.symbolize.dwarfread import CUReader, LeanELFFile
    from workers.symbolize.fastdwarf import FastDwarf
    from workers.symbolize.index import _debug_sections, code_ranges, info_reader, make_keep

    with open(binary, "rb") as f:
        elf = ELFFile(f)
        lean = LeanELFFile(f)
        keep = make_keep(code_ranges(elf))
        fast = FastDwarf(_debug_sections(lean), elf.little_endian, elf.elfclass // 8, keep, *info_reader(lean))
        slow = CUReader(lean.get_dwarf_info(relocate_dwarf_sections=False), keep)
        offsets = fast.unit_offsets()
        return [fast.read(o) for o in offsets], [slow.read(o) for o in offsets]


def _tree(cu) -> set[tuple]:
    return {(lo, hi, cu.nodes[n][0], cu.files[cu.nodes[n][2]] if cu.nodes[n][2] >= 0 else None, cu.nodes[n][3])
            for lo, hi, n, _depth in cu.intervals}


@pytest.mark.parametrize("dwarf", ["-gdwarf-4", "-gdwarf-5"])
def test_fast_reader_reads_what_pyelftools_reads(tmp_path: Path, dwarf: str) -> None:
    need("gcc")
    binary = compile_c(tmp_path, "gcc", ["-g", dwarf], relocatable=False)
    fast, slow = _units(binary)
    assert len(fast) == len(slow) >= 1
    for a, b in zip(fast, slow, strict=True):
        assert a.files == b.files and a.rows == b.rows and a.cu_ranges == b.cu_ranges
        assert _tree(a) == _tree(b) and a.comp_dir == b.comp_dir


def test_corrupted_debug_sections_give_a_result_or_a_clear_error(tmp_path: Path) -> None:
    import random

    from elftools.elf.elffile import ELFFile

    from workers.symbolize import SymbolizeError

    need("gcc")
    binary = compile_c(tmp_path, "gcc", ["-g", "-gdwarf-5"], relocatable=False)
    data = binary.read_bytes()
    with open(binary, "rb") as f:
        elf = ELFFile(f)
        spans = [(s["sh_offset"], s["sh_size"]) for s in elf.iter_sections()
                 if s.name in (".debug_info", ".debug_abbrev", ".debug_line", ".debug_rnglists")]
    rng = random.Random(7)
    for trial in range(40):
        mutated = bytearray(data)
        for _ in range(12):
            start, size = rng.choice(spans)
            mutated[start + rng.randrange(size)] = rng.randrange(256)
        path = tmp_path / f"mutant{trial}"
        path.write_bytes(bytes(mutated))
        try:
            info = build_index(path, tmp_path / f"index{trial}")
        except SymbolizeError:
            continue
        assert info.cus >= 0


def test_lazy_index_answers_like_the_full_index(tmp_path: Path) -> None:
    from workers.symbolize import LazyIndex

    need("gcc")
    binary = compile_c(tmp_path, "gcc", ["-g", "-gdwarf-5"], relocatable=False)
    build_index(binary, tmp_path / "index")
    full = Index(tmp_path / "index")
    lazy = LazyIndex(binary)
    try:
        lo, hi = text_range(binary)
        start = full.symbol_address("compute")
        assert start is not None and lazy.symbol_address("compute") == start
        assert any(full.lookup(a) for a in range(lo, hi))
        for addr in range(lo, hi):
            assert lazy.lookup(addr) == full.lookup(addr), hex(addr)
    finally:
        lazy.close()


def test_a_row_where_its_sequence_ends_covers_nothing() -> None:
    from workers.symbolize.index import _live_rows

    rows = [(0x10, 0, 5, 0), (0x18, 0, 7, 0), (0x18, -1, 0, 0),  # 0x18 row is empty: the sequence ends
            (0x18, 1, 9, 0), (0x20, -1, 0, 0)]  # a new sequence starting at the same address stays
    assert _live_rows(rows) == [(0x10, 0, 5, 0), (0x18, -1, 0, 0), (0x18, 1, 9, 0), (0x20, -1, 0, 0)]


COLD_SOURCE = r"""
extern void report(int) __attribute__((cold, noinline));
void report(int x) { __asm__ volatile("" :: "r"(x)); }

static inline __attribute__((always_inline)) int check(int x)
{
	if (__builtin_expect(x > 1000, 0)) {
		report(x);
		report(x + 1);
		return -1;
	}
	return x * 3;
}

int compute(int a, int b)
{
	int s = 0;
	for (int i = 0; i < a; i++)
		s += check(i ^ b);
	return s;
}

int main(int argc, char **argv) { return compute(argc, argv[0][0]); }
"""


def test_function_code_without_line_rows_is_named_with_unknown_line(tmp_path: Path) -> None:
    """A `.cold` part the line table does not cover (the kernel has many) still lies in its function's
    DWARF ranges: addr2line -i names the functions, `??:?` for the innermost and the inline call sites
    after it, rather than falling back to the symbol table's file."""
    need("gcc", "addr2line")
    src = tmp_path / "cold.c"
    src.write_text(COLD_SOURCE)
    asm = tmp_path / "cold.s"
    proc = subprocess.run(["gcc", "-O2", "-g", "-gdwarf-5", "-gno-variable-location-views", "-S", str(src),
                           "-o", str(asm)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"gcc cannot build the test program here: {proc.stderr[-300:]}")
    kept, section = [], ".text"
    for line in asm.read_text().splitlines(keepends=True):  # no .loc in .text.unlikely: no line rows there
        word = line.split()
        if word[:1] == [".text"]:
            section = ".text"
        elif word[:1] == [".section"]:
            section = word[1].rstrip(",")
        if not (section.startswith(".text.unlikely") and word[:1] == [".loc"]):
            kept.append(line)
    asm.write_text("".join(kept))
    binary = tmp_path / "cold"
    proc = subprocess.run(["gcc", str(asm), "-o", str(binary)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"gcc cannot assemble the test program here: {proc.stderr[-300:]}")
    build_index(binary, tmp_path / "index")
    index = Index(tmp_path / "index")
    from elftools.elf.elffile import ELFFile

    with open(binary, "rb") as f:  # the linker puts .text.unlikely into .text: its code is these two
        symtab = ELFFile(f).get_section_by_name(".symtab")
        addrs = [a for sym in symtab.iter_symbols() if sym.name in ("report", "compute.cold")
                 for a in range(sym["st_value"], sym["st_value"] + sym["st_size"])]
    assert addrs
    want = addr2line("addr2line", binary, addrs)
    got = [[(fn, text.replace(":0", ":?") if text.startswith("??:") else text) for fn, text in ours(index, a)]
           for a in addrs]
    assert got == want
    assert any(len(w) == 2 and w[0][1] == "??:?" and w[1][0] == "compute" for w in want)  # check() inlined
