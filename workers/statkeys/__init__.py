"""The 0-day robot's (lkp-tests) stat keys of a console log: `BUG:KASAN:...`, `RIP:fn`, `boot_failures`.

A port of ../shared/reference/lkp-stat-key-rules.md, one module per stage: `reading` (§2),
`dmesg` / `kmsg` (§3 / §4, candidate lines), `emit` (§5, filtering), `derive` (§6, key derivation),
with the robot's pattern files as data in `tables` and `lists` (§10). Each rule carries its
section number.

Public API: `stat_keys(data, name=None) -> (keys, source)` (never raises; `stat_keys_strict` is
the same without the safety net, for tests). Keys have no `dmesg.`/`kmsg.` prefix (§8 adds it;
source is "dmesg" or "kmsg"), in order of first appearance.

The robot runs its parser in dmesg mode on the serial console file `RESULT_ROOT/dmesg` and in
kmsg mode on the kmsg dump `RESULT_ROOT/kmsg` (§1, §A.1). The app gets one log: a `name` (path or
file name) holding the word `dmesg` or `kmsg` decides like the robot's file names do; otherwise
the log is keyed in dmesg mode, and if that finds nothing and the log reads like a kmsg dump,
in kmsg mode.
"""

from __future__ import annotations

import logging
import re

from workers.statkeys import dmesg, kmsg
from workers.statkeys.emit import Aborted, emit
from workers.statkeys.reading import decode, read

_log = logging.getLogger(__name__)

# §4.2: `kmsg` as a whole word (`_` is a word character): kmsg, kmsg.txt, logs/kmsg/x; not my_kmsg.
_KMSG_NAME = re.compile(r"\bkmsg\b")
_DMESG_NAME = re.compile(r"\bdmesg\b")
_KMSG_RECORD = re.compile(r"<[0-9]>|(?:kern  |user  |daemon):.{6}: ")
_KMSG_SNIFF = 200


# §8-4: `dump-stat` drops the parser's `message:<id>` and `pattern:<id>` lines by their prefix, and
# so an id of its own that starts with one (a kmsg line `<3>message: ...`). `timestamp:` stats are
# the timestamps (§7.3), which are not keys here: an id that looks like one goes with them.
_NOT_KEYS = ("#", "message:", "pattern:", "timestamp:")


def _dump_stat(ids: list[str]) -> list[str]:
    """§8: an id starting with `#` reads as a comment and is lost (§8-2), and one starting with
    `message:` or `pattern:` as the parser's own message/pattern lines (§8-4)."""
    return [i for i in ids if not i.startswith(_NOT_KEYS)]


def dmesg_keys(lines: list[str], text: str | None = None) -> list[str]:
    """Keys of dmesg mode: `boot_failures` first when any id survived (§7.2)."""
    try:
        ids = _dump_stat(emit(dmesg.candidates(lines, text)))
    except Aborted:
        return []
    return ["boot_failures", *ids] if ids else []


def kmsg_keys(lines: list[str], text: str | None = None) -> list[str]:
    """Keys of kmsg mode (no `boot_failures`, §7.2)."""
    try:
        return _dump_stat(emit(kmsg.candidates(lines, text)))
    except Aborted:
        return []


def stat_keys_strict(data: bytes | str, name: str | None = None) -> tuple[list[str], str]:
    """`stat_keys` letting any exception through (a bug of the port)."""
    lines, joined = read(decode(data))
    if name and _KMSG_NAME.search(name):
        return kmsg_keys(lines, joined), "kmsg"
    keys = dmesg_keys(lines, joined)
    if keys or (name and _DMESG_NAME.search(name)) or not _looks_like_kmsg_dump(lines):
        return keys, "dmesg"
    keys = kmsg_keys(lines, joined)
    return keys, "kmsg" if keys else "dmesg"


def _looks_like_kmsg_dump(lines: list[str]) -> bool:
    """Whether an unnamed log reads like the kmsg monitor's output (§A.1: `<3>` levels or
    `kern  :err   : ` prefixes). A serial console is not one: the robot's kmsg mode keys nothing in
    it without a list generated from the kernel source (§4.3), and neither does the port."""
    return any(_KMSG_RECORD.match(line) for line in lines[:_KMSG_SNIFF])


def stat_keys(data: bytes | str, name: str | None = None) -> tuple[list[str], str]:
    """(keys without prefix, source "dmesg" or "kmsg") of a whole log; `name` is its path or file
    name when known. Give the raw bytes when there are: in text decoded with errors="replace", a
    U+FFFD the log really held cannot be told from an invalid byte (the robot keeps the former)."""
    try:
        return stat_keys_strict(data, name)
    except Exception:  # noqa: BLE001 - a log must never make the parser fail; the bug is logged
        _log.exception("stat keys failed on a log of %d characters", len(data))
        return [], "dmesg"
