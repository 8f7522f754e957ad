"""The engine's shared vocabulary: what a parsed console log is made of.

Every engine module (parser, stat keys, symbolizer, code decoder, clustering, comparisons) speaks in
these plain dataclasses, so the CLI, the Celery tasks and the tests pass them around without Django.
`to_dict()` gives the JSON shape that `triage parse --format json[l]` prints and the database stores.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from workers.loglines import log_lines  # noqa: F401 - re-exported: the engine's one definition


@dataclass
class Frame:
    """One line of a stack trace (or the RIP/pc/NIP/LR line), as printed.

    `function`, `offset` and `size` come from `func+0x1f/0x30`; `address` from `[<ffffffff81234567>]`,
    a powerpc `[c0000000...] [c0000000...]` pair (the second is the return address) or a raw RIP.
    """

    function: str | None = None
    offset: int | None = None
    size: int | None = None
    module: str | None = None  # "lkdtm" for `func+0x5/0x10 [lkdtm]`
    buildid: str | None = None  # module build id for `[lkdtm 0123abcd...]`
    address: int | None = None
    reliable: bool = True  # False for `? func+...` and powerpc `(unreliable)`
    section: str = "task"  # task | irq | softirq | nmi | exception (from <IRQ>, <NMI> ... markers)
    role: str = "frame"  # frame | ip (RIP/pc/NIP) | lr (powerpc LR, arm64 lr)
    source: str | None = None  # "fs/read_write.c:681" when the log already carries it
    line: int = 0  # 0-based index of the line in the log

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    """One crash report found in a log (a BUG, an Oops, a WARNING, a KASAN report, ...)."""

    title: str
    kind: str  # stable class for filtering: "KASAN", "WARNING", "BUG", "lockdep", "panic", ...
    alt_titles: list[str] = field(default_factory=list)
    corrupted: bool = False
    corrupted_reason: str = ""
    type: str = ""  # syzkaller's crash type of the title: KASAN-READ, LOCKDEP, HANG, WARNING, DoS, ...
    suppressed: bool = False  # the log says the crash is an artefact of the test setup (OOM of sshd, ...)
    guilty_file: str | None = None  # after decoding: the source file to blame (syzkaller's rule)
    frames: list[Frame] = field(default_factory=list)
    guilty: int | None = None  # index into frames of the frame the title names
    ip: Frame | None = None  # the faulting instruction pointer (RIP/pc/NIP), when printed
    code: str | None = None  # the Code: line as printed (bytes with the <xx>/(xxxxxxxx) marker)
    registers: dict[str, str] = field(default_factory=dict)
    taint: str | None = None  # "G    B   W" of the "Tainted:" field, "" for "Not tainted"
    cpu: int | None = None
    pid: int | None = None
    comm: str | None = None
    release: str | None = None  # "6.12.117" from the CPU/Comm line or the Linux version banner
    hardware: str | None = None
    start_line: int = 0  # 0-based, inclusive
    end_line: int = 0  # 0-based, inclusive

    @property
    def guilty_frame(self) -> Frame | None:
        return self.frames[self.guilty] if self.guilty is not None else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ParsedLog:
    """Everything the parser says about one console log."""

    reports: list[Report] = field(default_factory=list)
    # The 0-day robot's stat keys without their source prefix: "BUG:KASAN:...", "boot_failures".
    stat_keys: list[str] = field(default_factory=list)
    stat_source: str = "dmesg"  # "kmsg" when the log is /dev/kmsg records; the app's key prefix
    release: str | None = None  # from the "Linux version" banner
    build_id: str | None = None  # vmlinux GNU build id when the log prints one
    arch: str | None = None  # best guess from the trace format: x86_64, i386, arm64, arm, powerpc, ...
    # Informational reports syzbot does not count as crashes (kind "oom": OOM kills; "nmi-backtrace":
    # sysrq-l / all-CPU backtraces): never in `reports`, so a log with only these is a clean log.
    notices: list[Report] = field(default_factory=list)
    # Reports found past parse_log's `max_reports`: counted, not built (nor in `reports`).
    reports_dropped: int = 0

    @property
    def prefixed_stat_keys(self) -> list[str]:
        return [f"{self.stat_source}.{key}" for key in self.stat_keys]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
