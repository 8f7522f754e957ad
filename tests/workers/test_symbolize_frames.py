"""Splitting log lines the way decode_stacktrace.sh does, and bad build files giving clear errors."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from workers.symbolize import SymbolizeError, build_index, identify
from workers.symbolize.frames import is_frame_line, kernel_offset, parse_symbol, split_line


def test_timestamp_is_rejoined_and_module_taken_from_the_last_word() -> None:
    split = split_line("[    6.040305]  lkdtm_do_action+0x2f/0x50 [lkdtm]")
    assert split.words == ["[    6.040305]"]
    assert (split.symbol, split.module) == ("lkdtm_do_action+0x2f/0x50", "lkdtm")


def test_module_build_id_is_split_off() -> None:
    split = split_line("[   10.5] ? foo_bar+0x5/0x10 [foo 0123456789abcdef0123456789abcdef01234567]")
    assert (split.symbol, split.module, split.buildid) == ("foo_bar+0x5/0x10", "foo",
                                                           "0123456789abcdef0123456789abcdef01234567")
    assert split.words == ["[" + " " * 8 + "10.5]", "?"]


def test_address_words_are_dropped_and_remembered() -> None:
    split = split_line(" [<ffffffff81234567>] vfs_write+0x226/0x980")
    assert split.words == [] and split.symbol == "vfs_write+0x226/0x980"
    assert split.address == 0xFFFFFFFF81234567


def test_powerpc_pair_gives_the_return_address_and_unreliable_is_not_a_symbol() -> None:
    line = "[    1.5] [c0000000023b5900] [c0000000001f4be8] .kmem_cache_free+0x214/0x428 (unreliable)"
    split = split_line(line)
    assert split.symbol == ".kmem_cache_free+0x214/0x428" and split.unreliable
    assert split.address == 0xC0000000001F4BE8


def test_rip_segment_and_symbol_parts() -> None:
    assert parse_symbol("0010:lkdtm_BUG+0x0/0x10") == ("0010:", "lkdtm_BUG", 0, 0x10)
    assert parse_symbol("(.vfs_write+0xec/0x3ac)") == ("", ".vfs_write", 0xEC, 0x3AC)
    assert parse_symbol("") is None


def test_which_lines_the_script_rewrites() -> None:
    assert is_frame_line("[    6.0] ksys_write+0xf2/0x1c0")
    assert is_frame_line("hardirqs last enabled at (1): [<ffffffff81e0012a>] asm_sysvec+0x1a/0x20")
    assert not is_frame_line("[    6.0] Call Trace:")
    assert not is_frame_line("[    6.0] RIP: 0033:0x7f12")


def test_kernel_offset_line() -> None:
    assert kernel_offset("[ 1.0] Kernel Offset: 0x2a000000 from 0xffffffff81000000 (relocation range") == 0x2A000000
    assert kernel_offset("Kernel Offset: disabled") == 0
    assert kernel_offset("nothing") is None


def test_garbage_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "vmlinux"
    bad.write_bytes(b"\x7fELF" + bytes(range(256)) * 4)
    with pytest.raises(SymbolizeError, match="vmlinux"):
        build_index(bad, tmp_path / "index")
    with pytest.raises(SymbolizeError):
        identify(bad)


def test_truncated_elf_is_a_clear_error(tmp_path: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    src = tmp_path / "a.c"
    src.write_text("int f(int x) { return x + 1; }\nint main(void) { return f(2); }\n")
    subprocess.run(["gcc", "-g", str(src), "-o", str(tmp_path / "a")], check=True)
    data = (tmp_path / "a").read_bytes()
    cut = tmp_path / "cut"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(SymbolizeError, match="truncated"):
        build_index(cut, tmp_path / "index")


def test_corrupt_compressed_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "vmlinux.xz"
    bad.write_bytes(b"\xfd7zXZ\x00garbage")
    with pytest.raises(SymbolizeError, match="decompress"):
        identify(bad)


def test_identify_reads_build_id_and_arch(tmp_path: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    src = tmp_path / "a.c"
    src.write_text('const char banner[] = "Linux version 6.1.0-test (me@host) (gcc) #1 SMP";\n'
                   "int main(void) { return banner[3]; }\n")
    subprocess.run(["gcc", "-Wl,--build-id=sha1", str(src), "-o", str(tmp_path / "a")], check=True)
    ident = identify(tmp_path / "a")
    assert ident.arch == "x86_64" or ident.arch
    assert ident.build_id and len(ident.build_id) == 40
    assert ident.release == "6.1.0-test"


def test_module_of_a_parenthesised_symbol_drops_the_closing_parenthesis() -> None:
    # `(%pS)` of a module address prints `(foo+0x0/0x1 [bar])`: the script strips one `)`, then the brackets
    split = split_line("[    7.5] handler (foo_irq+0x1c/0x40 [foo])")
    assert (split.symbol, split.module, split.buildid) == ("(foo_irq+0x1c/0x40", "foo", "")
    assert parse_symbol(split.symbol) == ("", "foo_irq", 0x1C, 0x40)
    split = split_line("[    7.5] handler (foo_irq+0x1c/0x40 [foo 0123456789abcdef])")
    assert (split.symbol, split.module, split.buildid) == ("(foo_irq+0x1c/0x40", "foo", "0123456789abcdef")
