"""A compressed vmlinux is checked as it decompresses: an ELF header first, then no more bytes than
its section table describes (a small .xz may hold gigabytes of zeros)."""

from __future__ import annotations

import lzma
import shutil
import subprocess
from pathlib import Path

import pytest

from workers.symbolize.elffile import SymbolizeError, uncompressed


@pytest.fixture
def elf(tmp_path) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build a small ELF file")
    src = tmp_path / "k.c"
    src.write_text("int f(int x) { return x + 1; }\nvoid _start(void) { for (;;) f(0); }\n")
    out = tmp_path / "vmlinux"
    subprocess.run(["gcc", "-g", "-O1", "-nostdlib", "-static", str(src), "-o", str(out)], check=True)
    return out


def written(tmp_path: Path) -> int:
    return sum(p.stat().st_size for p in tmp_path.glob("triage-elf-*"))


def test_a_bomb_of_zeros_stops_at_its_first_megabyte(tmp_path):
    bomb = tmp_path / "vmlinux.xz"
    with lzma.open(bomb, "wb", preset=1) as f:
        for _ in range(64):  # 64 MiB of zeros in a few KB
            f.write(bytes(1 << 20))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(SymbolizeError, match="does not decompress to an ELF"), \
            uncompressed(bomb, tmpdir=str(out), max_bytes=8 << 30):
        pass
    assert list(out.iterdir()) == []  # nothing left behind


def test_an_elf_followed_by_zeros_stops_where_its_sections_end(tmp_path, elf):
    packed = tmp_path / "vmlinux.xz"
    data = elf.read_bytes()
    with lzma.open(packed, "wb", preset=1) as f:
        f.write(data)
        for _ in range(32):
            f.write(bytes(1 << 20))
    with pytest.raises(SymbolizeError, match="section table describes"), \
            uncompressed(packed, tmpdir=str(tmp_path), max_bytes=8 << 30):
        pass


def test_a_real_compressed_elf_still_decompresses(tmp_path, elf):
    packed = tmp_path / "vmlinux.xz"
    packed.write_bytes(lzma.compress(elf.read_bytes()))
    with uncompressed(packed, tmpdir=str(tmp_path)) as plain:
        assert plain.read_bytes() == elf.read_bytes()
