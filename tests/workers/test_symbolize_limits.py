"""Hostile uploads: decompression bombs, misleading names, crafted DWARF, rebuilds under readers."""

from __future__ import annotations

import bz2
import gzip
import lzma
import shutil
import subprocess
from pathlib import Path

import pytest

from workers.symbolize import SymbolizeError, build_index, build_module_index, identify
from workers.symbolize.elffile import uncompressed

SOURCE = "int twice(int x) { return 2 * x; }\nint main(int argc, char **argv) { return twice(argc); }\n"


def compile_c(tmp_path: Path, relocatable: bool = False) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed (apt-get install gcc to run this test)")
    src = tmp_path / "prog.c"
    src.write_text(SOURCE)
    out = tmp_path / ("prog.o" if relocatable else "prog")
    cmd = ["gcc", "-O2", "-g", *(["-c"] if relocatable else []), str(src), "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    if proc.returncode != 0:
        pytest.skip(f"gcc cannot build the test program here: {proc.stderr[-300:]}")
    return out


def xz_of_zeros(path: Path, size: int) -> Path:
    """An ELF64 header without a section table, then zeros: only the global caps can stop it (zeros
    alone are refused at their first megabyte, see test_elf_bombs)."""
    header = b"\x7fELF\x02\x01\x01" + bytes(57)
    path.write_bytes(lzma.compress(header + bytes(size - len(header)), preset=0))
    return path


def test_decompression_stops_past_max_bytes_and_leaves_no_file(tmp_path: Path) -> None:
    bomb = xz_of_zeros(tmp_path / "vmlinux.xz", 3 << 20)
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(SymbolizeError, match="more than 1 MiB"), \
            uncompressed(bomb, tmpdir=str(work), max_bytes=1 << 20):
        pass
    assert list(work.iterdir()) == []


def test_vmlinux_limit_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAGE_MAX_VMLINUX_BYTES", str(1 << 20))
    bomb = xz_of_zeros(tmp_path / "vmlinux.xz", 3 << 20)
    with pytest.raises(SymbolizeError, match="more than 1 MiB"):
        build_index(bomb, tmp_path / "index")
    assert not (tmp_path / "index").exists()


def test_compressed_module_has_its_own_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAGE_MAX_MODULE_BYTES", str(1 << 20))
    bomb = xz_of_zeros(tmp_path / "lkdtm.ko.xz", 3 << 20)
    with pytest.raises(SymbolizeError, match="more than 1 MiB"):
        build_module_index(bomb, tmp_path / "mod-index")


COMPRESSORS = {
    "xz": lambda data: lzma.compress(data, preset=0),
    "gzip": lambda data: gzip.compress(data, compresslevel=1),
    "bzip2": lambda data: bz2.compress(data, compresslevel=1),
    "zstd": lambda data: __import__("zstandard").ZstdCompressor(level=1).compress(data),
}


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_compression_is_recognised_by_content_not_name(tmp_path: Path, kind: str) -> None:
    if kind == "zstd":
        pytest.importorskip("zstandard")
    plain = compile_c(tmp_path)
    want = identify(plain)
    disguised = tmp_path / "vmlinux"  # no suffix: only the magic bytes say it is compressed
    disguised.write_bytes(COMPRESSORS[kind](plain.read_bytes()))
    assert identify(disguised) == want


def test_plain_elf_with_a_compressed_name_is_read_as_is(tmp_path: Path) -> None:
    plain = compile_c(tmp_path)
    misnamed = tmp_path / "vmlinux.gz"
    shutil.copy(plain, misnamed)
    assert identify(misnamed) == identify(plain)
    info = build_index(misnamed, tmp_path / "index")
    assert info.symbols > 0


def test_plain_module_larger_than_the_cap_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    obj = compile_c(tmp_path, relocatable=True)
    ko = tmp_path / "tiny.ko"
    shutil.copy(obj, ko)
    assert build_module_index(ko, tmp_path / "ok-index").symbols > 0  # under the default cap: indexed
    monkeypatch.setenv("TRIAGE_MAX_MODULE_BYTES", "1000")
    with pytest.raises(SymbolizeError, match="more than the 1000 bytes allowed for a module"):
        build_module_index(ko, tmp_path / "index")


def test_oversized_module_in_a_tarball_is_not_extracted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import tarfile

    from workers.symbolize.modules import find_module

    tarball = tmp_path / "modules.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        member = tarfile.TarInfo("lib/modules/6.1/kernel/big.ko")
        member.size = 4096
        tar.addfile(member, io.BytesIO(bytes(4096)))
    monkeypatch.setenv("TRIAGE_MAX_MODULE_BYTES", "1000")
    out = tmp_path / "out"
    with pytest.raises(SymbolizeError, match="more than the 1000 bytes allowed"):
        find_module(tarball, "big", out)
    assert not (out / "big.ko").exists()


def test_leb128_longer_than_64_bits_is_corrupt() -> None:
    from workers.symbolize.fastdwarf import Corrupt, sleb, uleb

    assert uleb(b"\xff" * 9 + b"\x01", 0) == ((1 << 64) - 1, 10)  # the longest valid 64-bit number
    assert sleb(b"\x80\x7f", 0) == (-128, 2)
    long_run = b"\xff" * 100 + b"\x00"
    with pytest.raises(Corrupt):
        uleb(long_run, 0)
    with pytest.raises(Corrupt):
        sleb(long_run, 0)


def test_chained_indirect_forms_are_corrupt_not_a_recursion_error() -> None:
    from workers.symbolize.dwarfforms import form_value
    from workers.symbolize.fastdwarf import _CU, F_INDIRECT, Corrupt, FastDwarf

    fd = FastDwarf({}, True, 8, lambda addr: True)
    cu = _CU(fd, bytes([F_INDIRECT]) * 5000, 0, 0, 5, 4, 8, {})
    with pytest.raises(Corrupt):
        form_value(cu, F_INDIRECT, 0, 0)


def line_program_v5(directory_count: int) -> bytes:
    """A DWARF 5 line program header with no directory entry format and `directory_count` entries."""
    body = bytes([8, 0])  # address_size, segment_selector_size
    rest = bytes([1, 1, 1, 0xFB, 14, 13]) + bytes([0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1])  # up to std_lengths
    count = bytearray()
    n = directory_count
    while True:
        byte, n = n & 0x7F, n >> 7
        count.append(byte | (0x80 if n else 0))
        if not n:
            break
    rest += bytes([0]) + bytes(count) + bytes([0, 0])  # 0 formats, count dirs, 0 file formats, 0 files
    header = body + len(rest).to_bytes(4, "little") + rest
    unit = (5).to_bytes(2, "little") + header
    return len(unit).to_bytes(4, "little") + unit


def test_line_table_entry_count_beyond_the_program_is_corrupt() -> None:
    from workers.symbolize.fastdwarf import Corrupt, FastDwarf, LineProgram

    ok = FastDwarf({".debug_line": line_program_v5(0)}, True, 8, lambda addr: True)
    assert LineProgram(ok, 0, "/build").files == []
    crafted = FastDwarf({".debug_line": line_program_v5(100_000)}, True, 8, lambda addr: True)
    with pytest.raises(Corrupt):
        LineProgram(crafted, 0, "/build")


def test_debug_abbrev_full_of_continuation_bytes_counts_the_unit_as_failed(tmp_path: Path) -> None:
    from elftools.elf.elffile import ELFFile

    binary = compile_c(tmp_path)
    data = bytearray(binary.read_bytes())
    with open(binary, "rb") as f:
        abbrev = ELFFile(f).get_section_by_name(".debug_abbrev")
        start, size = abbrev["sh_offset"], abbrev["sh_size"]
    data[start:start + size] = b"\xff" * size
    crafted = tmp_path / "crafted"
    crafted.write_bytes(bytes(data))
    info = build_index(crafted, tmp_path / "index")
    assert info.cus >= 1 and info.failed_cus == info.cus
    assert info.symbols > 0  # the symbol table still answers


def test_lazy_index_survives_aranges_with_zero_address_size(tmp_path: Path) -> None:
    from elftools.elf.elffile import ELFFile

    from workers.symbolize import LazyIndex

    binary = compile_c(tmp_path)
    data = bytearray(binary.read_bytes())
    with open(binary, "rb") as f:
        aranges = ELFFile(f).get_section_by_name(".debug_aranges")
        if aranges is None:
            pytest.skip("this gcc writes no .debug_aranges")
        start = aranges["sh_offset"]
    data[start + 10] = 0  # address_size of the first set (after length 4, version 2, CU offset 4)
    crafted = tmp_path / "crafted"
    crafted.write_bytes(bytes(data))
    lazy = LazyIndex(crafted)
    try:
        assert lazy.symbol_address("twice") is not None
    finally:
        lazy.close()


def _files(index_dir: Path) -> dict[str, int]:
    return {p.name: p.stat().st_ino for p in index_dir.iterdir()}


@pytest.mark.parametrize("module", [False, True])
def test_rebuild_keeps_a_complete_index_readers_may_have_mapped(tmp_path: Path, module: bool) -> None:
    from workers.symbolize import Index

    binary = compile_c(tmp_path, relocatable=module)
    build = build_module_index if module else build_index
    index_dir = tmp_path / "cache" / "index"
    build(binary, index_dir)
    before = _files(index_dir)
    reader = Index(index_dir)  # a worker using it
    info = build(binary, index_dir)
    assert _files(index_dir) == before  # same files (inodes): nothing replaced under the reader
    assert info.path == str(index_dir) and info.symbols == reader.meta["symbols"]
    assert sorted(p.name for p in index_dir.parent.iterdir()) == ["index"]  # the new build was dropped


def test_rebuild_replaces_an_old_format_or_incomplete_index(tmp_path: Path) -> None:
    import json

    from workers.symbolize.index import FORMAT_VERSION

    binary = compile_c(tmp_path)
    old = tmp_path / "cache" / "old"
    old.mkdir(parents=True)
    (old / "meta.json").write_text(json.dumps({"format": FORMAT_VERSION - 1}))
    (old / "arrays.bin").write_bytes(b"stale")
    partial = tmp_path / "cache" / "partial"
    partial.mkdir()
    (partial / "arrays.bin").write_bytes(b"half written")
    for index_dir in (old, partial):
        build_index(binary, index_dir)
        assert json.loads((index_dir / "meta.json").read_text())["format"] == FORMAT_VERSION
        assert (index_dir / "arrays.bin").read_bytes() not in (b"stale", b"half written")
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["old", "partial"]
