"""Reading a `Code:` line: its code units, the marked (faulting) unit, and which arch printed it.

Kernels print the bytes around the faulting instruction in a few shapes:
x86 `Code: 48 89 e5 <0f> 0b ...` (bytes, `<xx>` marks the faulting byte), arm64 `Code: d2800001 (d4210000)`
(instruction words, `(...)` marks the faulting one), powerpc `Code: 7c0802a6 <0fe00000>` (words, `<...>`),
arm `(e7f001f2)` words or Thumb `(de02)` halfwords, riscv `(9002)` 16-bit parcels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Canonical arch names, and the names other tools (uname, Debian, the log parser) use for them.
ARCH_ALIASES = {
    "x86_64": "x86_64", "x86-64": "x86_64", "amd64": "x86_64", "x86": "x86_64", "x64": "x86_64",
    "i386": "i386", "i486": "i386", "i586": "i386", "i686": "i386", "x86_32": "i386",
    "arm64": "arm64", "aarch64": "arm64",
    "arm": "arm", "armhf": "arm", "armel": "arm", "arm32": "arm",
    "powerpc": "powerpc64", "powerpc64": "powerpc64", "ppc64": "powerpc64", "ppc": "powerpc",
    "powerpc32": "powerpc",
    "powerpc64le": "powerpc64le", "ppc64le": "powerpc64le", "ppc64el": "powerpc64le",
    "riscv64": "riscv64", "riscv": "riscv64", "riscv32": "riscv32",
    "s390": "s390", "s390x": "s390",
}

# Kernels print 64 bytes or 16 words; a longer line is not a Code: line we should spend time on.
MAX_UNITS = 1024
_TOKEN = re.compile(r"^([<(]?)([0-9a-fA-F]+)([>)]?)$")


@dataclass(frozen=True)
class CodeLine:
    """The code units of a Code: line, in print order, with the index of the marked one."""

    units: tuple[str, ...]  # hex strings, all `width * 2` digits
    width: int  # bytes per unit: 1 (x86), 2 (Thumb, riscv parcels) or 4 (words)
    marker: int | None  # index into units of the faulting unit, None when nothing is marked
    marker_style: str | None  # "<" or "(" as printed

    @property
    def marker_offset(self) -> int | None:
        """Byte offset of the faulting unit from the first byte shown."""
        return None if self.marker is None else self.marker * self.width


def normalize_arch(arch: str | None) -> str | None:
    """The canonical name for `arch`, or None when it is not an arch we know."""
    if not arch:
        return None
    return ARCH_ALIASES.get(arch.strip().lower())


def parse_code_line(line: str) -> CodeLine | None:
    """Split the hex after the last `Code:` of `line`; None when there is no usable hex.

    Like scripts/decodecode, the unit width is that of the first token; reading stops at the first token
    that is not a unit of that width (trailing garbage, `Unable to access opcode bytes`, ...).
    """
    if "Code:" not in line:
        return None
    text = line.rsplit("Code:", 1)[1]
    units: list[str] = []
    marker = style = None
    width = 0
    for token in text.split():
        m = _TOKEN.match(token)
        if not m or bool(m.group(1)) != bool(m.group(3)) or len(m.group(2)) % 2:
            break
        digits = m.group(2)
        if not width:
            width = len(digits) // 2
            if width not in (1, 2, 4):
                return None
        if len(digits) != 2 * width or len(units) >= MAX_UNITS:
            break
        if m.group(1):
            if marker is not None or (m.group(1) == "<") != (m.group(3) == ">"):
                break
            marker, style = len(units), m.group(1)
        units.append(digits.lower())
    if not units:
        return None
    return CodeLine(tuple(units), width, marker, style)


# Lines elsewhere in a log that tell which arch printed it (register dumps, banners).
_HINTS = [
    (re.compile(r"\bRIP: [0-9a-f]{4}:|\bRSP: [0-9a-f]{4}:|\bR1[0-5]: "), "x86_64"),
    (re.compile(r"\bEIP: |\bEIP is at\b|\bESP: [0-9a-f]{4}:"), "i386"),
    (re.compile(r"\bpstate: [0-9a-f]{8}|\bpc : \S+ lr : |\bx29: [0-9a-f]{16}\b|\bAArch64\b|aarch64"), "arm64"),
    (re.compile(r"\bPC is at\b|\bLR is at\b|\bpc : \[<[0-9a-f]{8}>\]|\bCPSR: |\bARMv7\b"), "arm"),
    (re.compile(r"\bMSR: +[0-9a-f]+ <[^>]*\bLE\b[^>]*>|\bpowerpc64le\b|\bppc64le\b"), "powerpc64le"),
    (re.compile(r"\bNIP: +[0-9a-f]+|\bNIP \[[0-9a-f]+\]|\bMSR: +[0-9a-f]+ <|\bpowerpc\b|\bPOWER\d"), "powerpc64"),
    (re.compile(r"\bepc : |\bepc: [0-9a-f]{16}|\bsstatus: |\bscause: |\bbadaddr: |\briscv"), "riscv64"),
    (re.compile(r"\bKrnl PSW\b|\bs390x?\b|\bKrnl GPRS:"), "s390"),
]


def arch_hint(text: str) -> str | None:
    """The arch named by register dumps or banners in `text`, None when nothing tells."""
    for pattern, arch in _HINTS:
        if pattern.search(text):
            return arch
    return None


def guess_arch(code: CodeLine, hint: str | None = None) -> str | None:
    """The arch most likely to print `code`, refined by `hint` (from arch_hint) when it fits the shape."""
    if code.width == 1:
        return hint if hint in ("x86_64", "i386", "s390") else "x86_64"
    if code.width == 2:
        return hint if hint in ("arm", "riscv64", "s390") else "riscv64"
    # 4-byte words: powerpc marks with <...>, arm64 and arm with (...)
    if hint in ("arm64", "arm", "powerpc64", "powerpc64le", "powerpc", "riscv64", "s390"):
        return hint
    if code.marker_style == "<":
        return "powerpc64"
    return "arm64"
