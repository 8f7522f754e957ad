"""Stage B in kmsg mode: the candidate table of a kernel-dumped kmsg file (spec §4.2).

The extracted text O is, in order: printk lines of level err or worse (`<0>`-`<3>` or
`kern  :err   :` ...) and `segfault at` lines at any level, without colour codes, oops lines and
denylisted ones; the `Kernel tests: Boot OK` lines; sanitizer runtime errors; sanitizer leak
summaries. Each line of O is both the raw key and the line (§4.4). The serial-console path (§4.3)
needs a list generated from the kernel source that the app does not have: without it the robot
keys nothing there, and so does this port (§4.3), so every kmsg-mode log is read as kernel-dumped.
"""

from __future__ import annotations

import re

from workers.statkeys.dmesg import binary_cut
from workers.statkeys.lines import lines_with
from workers.statkeys.lists import KMSG_DENYLIST
from workers.statkeys.reading import INVALID, repair
from workers.statkeys.tables import is_oops

# 4.2-1: error-level printk lines.
_ERROR_LEVEL = re.compile(r"<[0-3]>|kern  :(?:err   |crit  |alert |emerg ): ")
_ERROR_WORDS = ("segfault at", "<0>", "<1>", "<2>", "<3>", "kern  :err   : ", "kern  :crit  : ",
                "kern  :alert : ", "kern  :emerg : ")
_ANSI_COLOUR = re.compile(r"\x1b\[(?:[0-9;]+m|m|K)")
_BOOT_OK = "Kernel tests: Boot OK"  # 4.2-2
_RUNTIME_ERROR = " runtime error:"  # 4.2-3
# 4.2-4: leak headers and frames #0-#5 with a 12-character address.
_LEAK = re.compile(r"(Direct|Indirect) leak of .*allocated from:|#[0-5] 0x[0-9a-z]{12} in .*")
_LEAK_WORDS = ("leak of ", " in ")
_SEPARATOR = "\n"


def _denylisted(line: str) -> bool:
    return any(entry in line for entry in KMSG_DENYLIST)


def _error_lines(lines: list[str], text: str) -> list[str]:
    """4.2-1 (a grep with `-a`: binary data passes)."""
    out = []
    for i in lines_with(text, _ERROR_WORDS):
        line = lines[i]
        if not ("segfault at" in line or _ERROR_LEVEL.match(line)):
            continue
        if "\x1b" in line:
            line = _ANSI_COLOUR.sub("", line)
        if is_oops(line) or _denylisted(line):
            continue
        out.append(line)
    return out


def _runtime_errors(lines: list[str], text: str) -> list[str]:
    """4.2-3: `sanitizer.` + the text from the space-free token before the first ` runtime error:`."""
    out = []
    for i in lines_with(text, (_RUNTIME_ERROR,)):
        line = lines[i]
        at = line.index(_RUNTIME_ERROR)
        start = line.rfind(" ", 0, at) + 1 if at > 0 and line[at - 1] != " " else at
        out.append("sanitizer." + line[start:])
    return out


def _leaks(lines: list[str], text: str) -> list[str]:
    """4.2-4: `sanitizer.direct_leak/f0/f1/...` per leak; frames before any header form a piece
    without the prefix."""
    items = []
    for i in lines_with(text, _LEAK_WORDS):
        for m in _LEAK.finditer(lines[i]):
            if m.group(1):
                items.append(_SEPARATOR + f"sanitizer.{m.group(1).lower()}_leak")
            else:
                after = m.group(0).split(" in ", 1)[1].split()
                items.append(after[0] if after else "")
    if not items:
        return []
    return [piece[:-1] if piece.endswith("/") else piece for piece in "/".join(items).split(_SEPARATOR)]


def candidates(lines: list[str], text: str | None = None) -> dict[str, str]:
    """The insertion-ordered candidate table {raw key: line} of kmsg mode (§4.2, §4.4)."""
    text = "\n".join(lines) if text is None else text
    extracted = _error_lines(lines, text)
    # Items 2-4 are greps without `-a`: NULs and invalid UTF-8 hide lines (§3.2).
    plain = lines
    if "\x00" in text or INVALID in text:
        plain = [lines[i] for i in binary_cut(lines)]
        text = "\n".join(plain)
    extracted += [line for line in (plain[i] for i in lines_with(text, (_BOOT_OK,)))]
    extracted += _runtime_errors(plain, text)
    extracted += _leaks(plain, text)
    table: dict[str, str] = {}
    for line in repair("\n".join(extracted)).split("\n"):
        table.setdefault(line, line)
    return table
