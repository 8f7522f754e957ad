"""decode_log / decode_frames on a tiny program standing in for vmlinux, checked against addr2line -i."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from workers.symbolize import Symbolizer, decode_frames, decode_log

SOURCE = r"""
static inline __attribute__((always_inline)) int twice(int x)
{
	return x * 2 + (x >> 3);
}

int compute(int a, int b)
{
	int s = 0;
	for (int i = 0; i < a; i++)
		s += twice(i ^ b) ^ s;
	return s;
}

int main(int argc, char **argv)
{
	return compute(argc, argv[0][0]);
}
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Symbolizer]:
    for tool in ("gcc", "addr2line", "nm"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    tmp = tmp_path_factory.mktemp("prog")
    (tmp / "prog.c").write_text(SOURCE)
    subprocess.run(["gcc", "-O2", "-g", "-gdwarf-5", "prog.c", "-o", "prog"], cwd=tmp, check=True)
    return tmp / "prog", Symbolizer(tmp / "prog", cache_dir=tmp / "cache")


def nm_symbol(binary: Path, name: str) -> tuple[int, int]:
    out = subprocess.run(["nm", "-S", str(binary)], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[3] == name:
            return int(parts[0], 16), int(parts[1], 16)
    raise AssertionError(f"{name} not in nm output")


def addr2line_chain(binary: Path, addr: int) -> str:
    """What decode_stacktrace.sh puts in the parentheses: addr2line -i lines, build dir stripped."""
    out = subprocess.run(["addr2line", "-i", "-e", str(binary), hex(addr)], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    return " ".join(line.removeprefix(str(binary.parent) + "/") for line in out)


def inlined_offset(binary: Path, start: int, size: int) -> int:
    for off in range(size):
        if addr2line_chain(binary, start + off).count(".c:") >= 2:
            return off
    pytest.skip("the compiler inlined nothing here")


def test_frame_lines_are_rewritten_like_decode_stacktrace(program: tuple[Path, Symbolizer]) -> None:
    binary, sym = program
    start, size = nm_symbol(binary, "compute")
    off = inlined_offset(binary, start, size)
    log = (f"[    1.000000] Call Trace:\r\n"
           f"[    1.000000]  compute+0x{off:x}/0x{size:x}\r\n"
           f"[    1.000001] RIP: 0010:compute+0x{off:x}/0x{size:x}\r\n")
    out = decode_log(log, sym, code_decoder=lambda line, arch: None).splitlines()
    chain = addr2line_chain(binary, start + off)
    assert out[0] == "[    1.000000] Call Trace:"
    assert out[1] == f"[    1.000000] compute ({chain}) "
    assert out[2] == f"[    1.000001] RIP: 0010:compute ({chain}) "


def test_structured_frames_carry_inline_chain_and_functions(program: tuple[Path, Symbolizer]) -> None:
    binary, sym = program
    start, size = nm_symbol(binary, "compute")
    off = inlined_offset(binary, start, size)
    frames = decode_frames(f"[ 1.0] ? compute+0x{off:x}/0x{size:x}\n", sym)
    assert len(frames) == 1
    frame = frames[0]
    assert frame.function == "compute" and frame.offset == off and frame.size == size
    assert not frame.reliable and not frame.mismatch
    assert frame.locations[0].function == "twice" and frame.locations[-1].function == "compute"
    assert frame.source == addr2line_chain(binary, start + off).split()[0]


def test_size_mismatch_flags_a_vmlinux_that_does_not_match(program: tuple[Path, Symbolizer]) -> None:
    _binary, sym = program
    frames = decode_frames("[ 1.0]  compute+0x4/0x999\n", sym)
    assert frames[0].mismatch


def test_raw_address_uses_kernel_offset(program: tuple[Path, Symbolizer]) -> None:
    binary, sym = program
    start, size = nm_symbol(binary, "compute")
    off = inlined_offset(binary, start, size)
    log = ("[ 0.1] Kernel Offset: 0x7f0000000000 from 0xffffffff81000000 (relocation range: ...)\n"
           f"[ 1.0] RIP: 0010:0x{start + off + 0x7F0000000000:x}\n")
    frames = decode_frames(log, sym)
    assert frames and frames[0].function == "compute"
    assert frames[0].source == addr2line_chain(binary, start + off).split()[0]


def test_kaslr_offset_derived_from_a_symbolic_frame(program: tuple[Path, Symbolizer]) -> None:
    binary, sym = program
    start, size = nm_symbol(binary, "compute")
    slide = 0x7F0000000000
    log = (f"[ 1.0]  [<{start + slide + 3:016x}>] compute+0x3/0x{size:x}\n"
           f"[ 1.0]  [<{start + slide + 5:016x}>] 0x{start + slide + 5:x}\n")
    frames = decode_frames(log, sym)
    assert frames[1].function == "compute" and frames[1].address == start + 5


def test_unknown_module_and_symbol_leave_the_frame_undecoded(program: tuple[Path, Symbolizer]) -> None:
    _binary, sym = program
    frames = decode_frames("[ 1.0]  foo+0x1/0x2 [nomod]\n[ 1.0]  no_such_function+0x1/0x2\n", sym)
    assert frames[0].locations == [] and "nomod" in frames[0].note
    stamp = "[" + " " * 9 + "1.0]"  # the script re-joins `[ 1.0]` as printf "[%13s"
    assert frames[0].text == f"{stamp} foo+0x1/0x2 nomod"
    assert frames[1].locations == [] and frames[1].text == f"{stamp} no_such_function+0x1/0x2 "


def test_code_lines_get_the_disassembler_block(program: tuple[Path, Symbolizer]) -> None:
    _binary, sym = program
    seen = []

    def fake(line: str, arch: str) -> str:
        seen.append((line, arch))
        return "All code\n========\n"

    out = decode_log("[ 1.0] Code: 90 90 <cc> 90\n[ 1.0] Code: 0f <0b>\n", sym, code_decoder=fake)
    assert out.count("All code") == 2 and len(seen) == 2 and seen[0][1] == "x86_64"


def test_garbage_text_never_raises(program: tuple[Path, Symbolizer]) -> None:
    _binary, sym = program
    junk = "\x00\xff [<zz>] +0x/0x [ [ ] ] (%pS) a+0x1/0x2 [ \n" * 3 + "0010:+0x1/0x2\n[<ffffffffffffffff>]\n"
    decode_log(junk, sym, code_decoder=lambda line, arch: None)


def test_log_of_another_release_is_reported(program: tuple[Path, Symbolizer]) -> None:
    from workers.symbolize.decode import build_mismatch

    _binary, sym = program
    saved = sym.index.meta.get("release")
    sym.index.meta["release"] = "6.12.117-crashlab"
    try:
        assert build_mismatch("[ 0.0] Linux version 6.12.117-crashlab (root@vm) (gcc)\n", sym) is None
        reason = build_mismatch("[ 0.0] Linux version 6.1.0-9-amd64 (debian-kernel@lists) (gcc)\n", sym)
        assert reason and "6.1.0-9-amd64" in reason
    finally:
        sym.index.meta["release"] = saved


def test_user_space_raw_address_lines_are_left_alone(program: tuple[Path, Symbolizer]) -> None:
    _binary, sym = program
    log = "[ 1.0] RIP: 0033:0x7f1234567890\n[ 1.0]  ? 0xffffffffc0001234\n"
    out = decode_log(log, sym, code_decoder=lambda line, arch: None)
    assert out == log


def test_code_without_line_info_prints_what_addr2line_prints(program: tuple[Path, Symbolizer]) -> None:
    binary, sym = program
    out = subprocess.run(["nm", str(binary)], capture_output=True, text=True, check=True).stdout
    starts = {parts[2]: int(parts[0], 16) for parts in (line.split() for line in out.splitlines())
              if len(parts) == 3 and parts[1] in "tT" and parts[2] in ("deregister_tm_clones", "_start")}
    if not starts:
        pytest.skip("no crt functions in this toolchain's output")
    checked = 0
    for name, start in starts.items():
        want = subprocess.run(["addr2line", "-i", "-e", str(binary), hex(start + 1)], capture_output=True,
                              text=True, check=True).stdout.strip()
        if ":" not in want or not want.endswith("?"):
            continue  # this toolchain has line info for it
        frames = decode_frames(f"[ 1.0]  {name}+0x1/0x2\n", sym)
        assert frames[0].text.endswith(f"{name} ({want}) "), (frames[0].text, want)
        checked += 1
    if not checked:
        pytest.skip("every crt function has line info with this toolchain")
