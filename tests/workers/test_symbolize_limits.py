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
    path.write_bytes(lzma.compress(bytes(size), preset=0))
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
