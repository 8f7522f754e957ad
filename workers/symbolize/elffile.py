"""Opening kernel images: decompression, identity (build-id, release, arch) and clear errors.

A vmlinux may arrive compressed (`.xz`, `.gz`, `.zst`); it is streamed into a temporary file (never held
in memory whole) because pyelftools needs a seekable file. Every failure to read an ELF file (garbage,
truncation, a crafted header) becomes a `SymbolizeError` with a message a person can act on.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import lzma
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

COMPRESSED = {".xz": lzma.open, ".gz": gzip.open, ".bz2": bz2.open}
BANNER = re.compile(rb"Linux version (\S+) \([^\x00\n]*")


class SymbolizeError(Exception):
    """A build file that cannot be used, with the reason (shown to users as is)."""


@dataclass
class Identity:
    build_id: str | None
    release: str | None
    arch: str | None
    banner: str | None = None


def _zstd_open(path: Path) -> BinaryIO:
    import zstandard  # imported here: only needed for .zst uploads

    return zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True)  # noqa: SIM115


@contextlib.contextmanager
def uncompressed(path: str | os.PathLike[str], tmpdir: str | None = None) -> Iterator[Path]:
    """Yield a path to the uncompressed file: `path` itself, or a temporary copy streamed out of it."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in COMPRESSED and suffix != ".zst":
        yield path
        return
    opener = _zstd_open if suffix == ".zst" else COMPRESSED[suffix]
    fd, tmp = tempfile.mkstemp(prefix="triage-elf-", suffix=".elf", dir=tmpdir)
    try:
        try:
            with opener(path) as src, os.fdopen(fd, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        except (OSError, EOFError, lzma.LZMAError, ValueError) as exc:
            raise SymbolizeError(f"{path.name}: cannot decompress: {exc}") from exc
        yield Path(tmp)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def open_elf(stream: BinaryIO, name: str = "file") -> ELFFile:
    """ELFFile over `stream`, with sanity checks that make crafted headers fail early and clearly."""
    try:
        elf = ELFFile(stream)
        stream.seek(0, os.SEEK_END)
        size = stream.tell()
        count = elf.num_sections()
        if elf["e_shoff"] + count * elf["e_shentsize"] > size:
            raise SymbolizeError(f"{name}: truncated ELF file (section headers beyond the end)")
        for section in elf.iter_sections():
            if section["sh_type"] != "SHT_NOBITS" and \
                    section["sh_offset"] + section["sh_size"] > size:
                raise SymbolizeError(f"{name}: truncated ELF file (section {section.name} beyond the end)")
        return elf
    except SymbolizeError:
        raise
    except (ELFError, Exception) as exc:  # pyelftools raises many kinds on crafted input
        raise SymbolizeError(f"{name}: not a readable ELF file: {exc}") from exc


def arch_of(elf: ELFFile) -> str:
    """Kernel-style arch name: x86_64, i386, arm64, arm, powerpc64 (+le), riscv64, ..."""
    machine = elf["e_machine"]
    if machine == "EM_X86_64":
        return "x86_64"
    if machine == "EM_386":
        return "i386"
    if machine == "EM_AARCH64":
        return "arm64"
    if machine == "EM_ARM":
        return "arm"
    if machine == "EM_PPC64":
        return "powerpc64" if not elf.little_endian else "powerpc64le"
    if machine == "EM_PPC":
        return "powerpc"
    if machine == "EM_RISCV":
        return "riscv64" if elf.elfclass == 64 else "riscv32"
    if machine == "EM_S390":
        return "s390"
    return str(machine).removeprefix("EM_").lower()


def is_ppc64_elfv1(elf: ELFFile) -> bool:
    """ELF ABI v1 (function descriptors in .opd): big-endian ppc64 whose e_flags say abiv1 or nothing."""
    return elf["e_machine"] == "EM_PPC64" and (elf["e_flags"] & 3) in (0, 1) and not elf.little_endian


def build_id_of(elf: ELFFile) -> str | None:
    for section in elf.iter_sections():
        if section["sh_type"] != "SHT_NOTE":
            continue
        try:
            for note in section.iter_notes():
                if note["n_type"] == "NT_GNU_BUILD_ID" and note["n_name"] == "GNU":
                    return str(note["n_desc"])
        except Exception:  # a crafted note section: no build id rather than a crash
            continue
    return None


def banner_of(elf: ELFFile, stream: BinaryIO) -> str | None:
    """The `Linux version ...` string compiled into the image (in .rodata), if any."""
    for section in elf.iter_sections():
        if section["sh_type"] != "SHT_PROGBITS" or not section["sh_flags"] & 2:  # SHF_ALLOC
            continue
        if section["sh_flags"] & 4:  # code: the banner is data
            continue
        if section.name not in (".rodata", ".init.rodata", ".data") and not section.name.startswith(".rodata"):
            continue
        stream.seek(section["sh_offset"])
        remaining, tail = section["sh_size"], b""
        while remaining > 0:
            chunk = stream.read(min(remaining, 8 << 20))
            if not chunk:
                break
            remaining -= len(chunk)
            buf = tail + chunk
            m = BANNER.search(buf)
            if m and b"%s" not in m.group(0):
                return m.group(0).decode("utf-8", "replace").strip()
            tail = buf[-512:]
    return None


def identify_elf(elf: ELFFile, stream: BinaryIO) -> Identity:
    banner = banner_of(elf, stream)
    release = banner.split()[2] if banner else None
    return Identity(build_id=build_id_of(elf), release=release, arch=arch_of(elf), banner=banner)


def identify(path: str | os.PathLike[str]) -> Identity:
    """Build-id, kernel release and arch of a vmlinux or .ko (compressed or not)."""
    with uncompressed(path) as plain, open(plain, "rb") as stream:
        elf = open_elf(stream, Path(path).name)
        try:
            return identify_elf(elf, stream)
        except SymbolizeError:
            raise
        except Exception as exc:
            raise SymbolizeError(f"{Path(path).name}: unreadable ELF contents: {exc}") from exc
