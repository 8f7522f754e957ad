"""Stack-frame lines of every architecture's trace format, and the RIP/pc/NIP/LR lines.

`parse_frame_line` takes one normalized line (see `lines.normalize`) and returns a `Frame` or None.
Formats (leading spaces and `? ` markers allowed everywhere):

- x86-64/arm64/riscv: `func+0x1f/0x30`, `func+0x1f/0x30 [mod]`, `func+0x1f/0x30 [mod 0123abcd]`
- with addresses (old x86, i386, riscv, s390): `[<ffffffff8123>] func+0x1f/0x30`, `([<...>] func+...)`
- powerpc: `[c0000000021eba30] [c008000000178634] .func+0xcc/0x13c [mod] (unreliable)`
- arm: `[<80c1e5e8>] (func) from [<80c1eb20>] (caller+0x60/0xdc)` and `func from caller+0x60/0xdc`
- already decoded: `func+0x1f/0x30 (fs/read_write.c:681)`, `func (fs/read_write.c:681)`
- instruction pointer / link register: `RIP: 0010:func+0x..`, `EIP: func+..`, `pc : func+..`,
  `lr : func+..`, `NIP [c00..] .func+..`, `LR [c00..] .func+..`, `PC is at func+..`, `epc : func`, `ra : func`,
  `IP: [<ffffffff81>] func+..`.
"""

from __future__ import annotations

import re

from workers.report import Frame

_FUNC = r"[A-Za-z_.$][\w.$@~-]*?"
_MOD = r"(?:\s+\[(?P<mod>[\w-]+)(?:\s+(?P<bid>[0-9a-f]{8,}))?\])?"
_OFF = r"\+0x(?P<off>[0-9a-f]+)(?:/0x(?P<size>[0-9a-f]+))?"
# Source position printed by decode_stacktrace.sh `(fs/x.c:12)` or by syzkaller's symbolizer `fs/x.c:12`.
_SRC = (r"(?:\s+\((?P<src>[^\s()]+:\d+)(?:\s*\([^)]*\))?\)|\s+(?P<src2>[\w/.+-]+\.\w+:\d+))?"
        r"(?:\s+\[inline\])?")

# Generic: optional address(es), optional "?", function+off/size, optional [module], optional source.
_GENERIC = re.compile(
    r"^\s*\(?(?:\[<?(?:0x)?(?P<addr0>[0-9a-f]{6,})>?\]\s+){0,2}(?P<unrel>\?\s+)?"
    r"(?P<func>" + _FUNC + r")" + _OFF + _MOD + r"\)?" + _SRC + r"(?P<unrel2>\s+\(unreliable\))?\s*$"
)
# powerpc frame whose return address has no symbol: `[c0..] [c0..] 0xc0000000021ebab0 (unreliable)`.
_PPC_RAW = re.compile(
    r"^\s*\[(?P<sp>[0-9a-f]{8,})\]\s+\[(?P<addr>[0-9a-f]{8,})\]\s+0x[0-9a-f]+(?P<unrel>\s+\(unreliable\))?\s*$"
)
# Frames already decoded by decode_stacktrace.sh without offsets: `func (fs/read_write.c:681)`.
_DECODED = re.compile(
    r"^\s*(?P<unrel>\?\s+)?(?P<func>[A-Za-z_][\w.]*)\s+\((?P<src>[^\s()]+\.[chS]:\d+)(?:\s*\([^)]*\))?\)"
    r"(?:\s+\[inline\])?" + _MOD.replace("mod", "mod").replace("bid", "bid") + r"\s*$"
)
# arm: `[<80c1e5e8>] (func) from [<80c1eb20>] (caller+0x60/0xdc)` / `func from caller+0x60/0xdc`.
_ARM = re.compile(
    r"^\s*(?:\[<(?P<addr>[0-9a-f]+)>\]\s+)?\(?(?P<func>[A-Za-z_.$][\w.$]*)(?:" + _OFF + r")?\)?"
    r"(?:\s+\[(?P<mod>[\w-]+)\])?\s+from\s+(?:\[<[0-9a-f]+>\]\s+)?\(?[A-Za-z_.$][\w.$]*"
)

# Instruction pointer and link register lines.
_IP = re.compile(
    r"^\s*(?:(?P<kind>RIP|EIP|IP|NIP|LR|pc|lr|PC is at|LR is at|epc|ra|Krnl PSW|PSW)\s*:?\s*"
    r"(?:\[<?(?P<addr0>[0-9a-f]+)>?\]\s*)?(?:[0-9a-f]{4}:)?(?:\[<(?P<addr1>[0-9a-f]+)>\]\s+)?"
    r"(?:\[<[0-9a-f]+>\]\s+)?(?:EIP is at\s+)?)"
    r"(?:(?P<func>" + _FUNC + r")" + _OFF + _MOD + r"|0x(?P<raw>[0-9a-f]+)|(?P<rawaddr>[0-9a-f]{8,16}))"
    + _SRC + r"\s*$"
)
_IP_ROLE = {"LR": "lr", "lr": "lr", "LR is at": "lr", "ra": "lr"}


def _hex(s: str | None) -> int | None:
    return int(s, 16) if s else None


def parse_frame_line(line: str) -> Frame | None:
    """A Frame for a stack-trace line or a RIP/pc/NIP/LR line, None for anything else."""
    if "+0x" in line:
        m = _GENERIC.match(line)
        if m:
            return Frame(
                function=m["func"], offset=_hex(m["off"]), size=_hex(m["size"]), module=m["mod"],
                buildid=m["bid"], address=_hex(m["addr0"]) if m["addr0"] else _addr2(line),
                reliable=not (m["unrel"] or m["unrel2"]), source=m["src"] or m["src2"],
            )
    if " from " in line:
        m = _ARM.match(line)
        if m:
            return Frame(function=m["func"], offset=_hex(m["off"]), size=_hex(m["size"]),
                         module=m["mod"], address=_hex(m["addr"]))
    if ":" in line and "(" in line:
        m = _DECODED.match(line)
        if m:
            return Frame(function=m["func"], module=m["mod"], buildid=m["bid"], source=m["src"],
                         reliable=not m["unrel"])
    if line.lstrip().startswith("[") and "0x" in line:
        m = _PPC_RAW.match(line)
        if m:
            return Frame(address=_hex(m["addr"]), reliable=not m["unrel"])
    return None


def _addr2(line: str) -> int | None:
    """The return address of a powerpc `[sp] [ra] func` line (the second bracket)."""
    s = line.lstrip()
    if not s.startswith("["):
        return None
    end = s.find("]")
    rest = s[end + 1:].lstrip()
    if rest.startswith("["):
        close = rest.find("]")
        try:
            return int(rest[1:close].strip("<>"), 16)
        except ValueError:
            return None
    return None


def parse_ip_line(line: str) -> Frame | None:
    """A Frame with role "ip" or "lr" for `RIP: 0010:func+..`, `NIP [..] func`, `pc : func`, ..."""
    m = _IP.match(line)
    if m is None:
        return None
    kind = m["kind"]
    role = _IP_ROLE.get(kind, "ip")
    address = _hex(m["addr1"]) or _hex(m["addr0"]) or _hex(m["raw"]) or _hex(m["rawaddr"])
    return Frame(function=m["func"], offset=_hex(m["off"]), size=_hex(m["size"]), module=m["mod"],
                 buildid=m["bid"], address=address, role=role, source=m["src"] or m["src2"])


def title_name(function: str | None) -> str:
    """The function name as syzbot titles print it: no ELFv1 leading dot, no `.isra.0`/`.cold` suffix."""
    if not function:
        return ""
    name = function.lstrip(".")
    cut = name.find(".")
    return name[:cut] if cut > 0 else name
