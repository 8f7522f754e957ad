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
    obj = compile_c(tmp_path, gcc, ["-g", dwarf], relocatable=True)
    build_module_index(obj, tmp_path / "index")
    index = Index(tmp_path / "index")
    assert index.meta["arch"] == arch
    compare(index, tool, obj, *text_range(obj))
