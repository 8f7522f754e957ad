"""Opening kernel images: decompression, identity (build-id, release, arch) and clear errors.

A vmlinux may arrive compressed (xz, gzip, zstd, bzip2: recognised by content, not name); it is streamed into a temporary file (never held
in memory whole) because pyelftools needs a seekable file. Every failure to read an ELF file (garbage,
truncation, a crafted header) becomes a `SymbolizeError` with a message a person can act on.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

# pyelftools and the decompressors are imported where used: `triage decode` with a ready index needs
# SymbolizeError from here and none of them.
if TYPE_CHECKING:
    from elftools.elf.elffile import ELFFile

BANNER = re.compile(rb"Linux version (\S+) \([^\x00\n]*")


class SymbolizeError(Exception):
    """A build file that cannot be used, with the reason (shown to users as is)."""


class Identity(NamedTuple):
    build_id: str | None
    release: str | None
    arch: str | None
    banner: str | None = None


def _zstd_open(path: Path) -> BinaryIO:
    import zstandard  # imported here: only needed for zstd uploads

    return zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True)  # noqa: SIM115


def _xz_open(path: Path) -> BinaryIO:
    import lzma

    return lzma.open(path)  # type: ignore[return-value]


def _gzip_open(path: Path) -> BinaryIO:
    import gzip

    return gzip.open(path)  # type: ignore[return-value]


def _bz2_open(path: Path) -> BinaryIO:
    import bz2

    return bz2.open(path)  # type: ignore[return-value]


# chosen by content, not by name: uploads are checked by content, so the name proves nothing
MAGICS: list[tuple[bytes, Callable[[Path], BinaryIO]]] = [
    (b"\xfd7zXZ\x00", _xz_open), (b"\x1f\x8b", _gzip_open), (b"\x28\xb5\x2f\xfd", _zstd_open),
    (b"BZh", _bz2_open),
]
MAX_VMLINUX_ENV, DEFAULT_MAX_VMLINUX = "TRIAGE_MAX_VMLINUX_BYTES", 8 << 30
MAX_MODULE_ENV, DEFAULT_MAX_MODULE = "TRIAGE_MAX_MODULE_BYTES", 512 << 20


def _limit(env: str, default: int) -> int:
    try:
        value = int(os.environ.get(env, ""))
    except ValueError:
        return default
    return value if value > 0 else default


def max_vmlinux_bytes() -> int:
    """Largest uncompressed vmlinux accepted (env TRIAGE_MAX_VMLINUX_BYTES, default 8 GiB)."""
    return _limit(MAX_VMLINUX_ENV, DEFAULT_MAX_VMLINUX)


def max_module_bytes() -> int:
    """Largest uncompressed .ko accepted (env TRIAGE_MAX_MODULE_BYTES, default 512 MiB)."""
    return _limit(MAX_MODULE_ENV, DEFAULT_MAX_MODULE)


def _opener(path: Path) -> Callable[[Path], BinaryIO] | None:
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise SymbolizeError(f"{path.name}: cannot read: {exc.strerror or exc}") from exc
    for magic, opener in MAGICS:
        if head.startswith(magic):
            return opener
    return None


def is_compressed(path: str | os.PathLike[str]) -> bool:
    """True when the file's first bytes are an xz, gzip, zstd or bzip2 header (whatever its name)."""
    return _opener(Path(path)) is not None


def size_text(n: int) -> str:
    """`512 MiB`, `8 GiB`, or bytes when smaller than a MiB (for error messages)."""
    if n >= 1 << 30 and n % (1 << 30) == 0:
        return f"{n >> 30} GiB"
    return f"{n / (1 << 20):.0f} MiB" if n >= 1 << 20 else f"{n} bytes"


@contextlib.contextmanager
def uncompressed(path: str | os.PathLike[str], tmpdir: str | None = None,
                 max_bytes: int | None = None) -> Iterator[Path]:
    """Yield a path to the uncompressed file: `path` itself, or a temporary copy streamed out of it.

    The copy stops with a SymbolizeError past `max_bytes` (default: max_vmlinux_bytes()): a few MB of
    xz can hold terabytes of zeros, which must not fill the shared storage."""
    import lzma
    import tempfile

    path = Path(path)
    limit = max_vmlinux_bytes() if max_bytes is None else max_bytes
    opener = _opener(path)
    if opener is None:
        yield path
        return
    fd, tmp = tempfile.mkstemp(prefix="triage-elf-", suffix=".elf", dir=tmpdir)
    try:
        try:
            with opener(path) as src, os.fdopen(fd, "wb") as dst:
                total = 0
                while chunk := src.read(1 << 20):
                    total += len(chunk)
                    if total > limit:
                        raise SymbolizeError(f"{path.name}: decompresses to more than {size_text(limit)}, the limit "
                                             f"for this kind of file (a crafted or wrong upload?)")
                    dst.write(chunk)
        except SymbolizeError:
            raise
        except (OSError, EOFError, lzma.LZMAError, ValueError) as exc:
            raise SymbolizeError(f"{path.name}: cannot decompress: {exc}") from exc
        except Exception as exc:  # zstandard.ZstdError and other decoder errors on corrupt data
            raise SymbolizeError(f"{path.name}: cannot decompress: {type(exc).__name__}: {exc}") from exc
        yield Path(tmp)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def open_elf(stream: BinaryIO, name: str = "file") -> ELFFile:
    """ELFFile over `stream`, with sanity checks that make crafted headers fail early and clearly."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

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
