"""Subsystems and maintainers of a crash: its guilty file matched against the kernel's MAINTAINERS.

The file comes from an admin upload per tree (MaintainersFile, "" for any tree) or from
TRIAGE_MAINTAINERS (a MAINTAINERS file or a kernel source tree holding one). Parsed files are kept per
process and re-read when the upload changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Q

from triage.models import Crash, MaintainersFile
from workers.maintainers import Maintainers, Match, file_from_text

_PARSED: dict[tuple, Maintainers] = {}
SAMPLE = 500  # newest crashes of a cluster read for its guilty file


def _settings_file() -> Path | None:
    configured = getattr(settings, "TRIAGE_MAINTAINERS", "")
    if not configured:
        return None
    path = Path(configured)
    path = path / "MAINTAINERS" if path.is_dir() else path
    return path if path.is_file() else None


def maintainers_for(tree: str) -> Maintainers | None:
    """The tree's MAINTAINERS (its upload, else the upload for any tree, else the settings' file)."""
    rows = dict((t, (pk, updated)) for t, pk, updated in
                MaintainersFile.objects.filter(tree__in={tree, ""}).values_list("tree", "pk", "updated"))
    chosen = rows.get(tree) or rows.get("")
    if chosen:
        key = ("db", *chosen)
        if key not in _PARSED:
            _PARSED[key] = Maintainers(MaintainersFile.objects.get(pk=chosen[0]).text)
        return _PARSED[key]
    path = _settings_file()
    if path is None:
        return None
    key = ("file", str(path), path.stat().st_mtime)
    if key not in _PARSED:
        _PARSED[key] = Maintainers(path.read_text(errors="replace"))
    return _PARSED[key]


# Crash.subsystems holds every section of a crash as "|LKDTM|MISC DRIVERS|": an `icontains` on "|NAME|"
# matches a whole name, in any case on SQLite and PostgreSQL alike (SQLite's LIKE ignores case anyway;
# the subscription form takes names in any case too), trigram-indexed on PostgreSQL (migration 0020).
SEP = "|"


def joined(names: Iterable[str]) -> str:
    """Section names as Crash.subsystems stores them ("" for none)."""
    names = [n.replace(SEP, "/") for n in names if n]
    return SEP + SEP.join(dict.fromkeys(names)) + SEP if names else ""


def split(stored: str) -> list[str]:
    """The section names of a Crash.subsystems value, most specific first."""
    return [n for n in stored.split(SEP) if n]


def in_section(name: str, path: str = "") -> Q:
    """Crashes (or rows reached through `path`, e.g. "crashes__") filed under the section `name`, the
    most specific one or any broader one its guilty file also matches."""
    return Q(**{f"{path}subsystems__icontains": joined([name.strip()]) or SEP * 2})


def filed_names() -> list[str]:
    """Every section name stored crashes are filed under (the lists' datalists), cached."""
    from triage import listing

    def load() -> list[str]:
        stored = Crash.objects.exclude(subsystems="").order_by().values_list("subsystems", flat=True).distinct()
        return sorted({n for value in stored.iterator() for n in split(value)})[:listing.MAX_CHOICES]

    return listing.cached("choices:crash:subsystems", load)


def section_names() -> list[str]:
    """Every MAINTAINERS section name the app knows (every tree's upload, the settings' file) and every
    subsystem crashes were filed under: what a digest subscription may name."""
    names = set(Crash.objects.exclude(subsystem="").order_by().values_list("subsystem", flat=True).distinct())
    names.update(filed_names())
    trees = set(MaintainersFile.objects.values_list("tree", flat=True)) or {""}
    for tree in trees:
        found = maintainers_for(tree)
        if found:
            names.update(s.name for s in found.sections if not s.is_catch_all)
    return sorted(names)


# Files of the reporting machinery (printing the stack, the KASAN report, the BUG/WARNING trap): a
# guilty frame there is a parser slip, never the bug; "unknown" is better than their maintainers.
MACHINERY = re.compile(r"^(?:lib/dump_stack\.c|lib/bug\.c|mm/kasan/report.*\.c|mm/kmsan/report\.c|kernel/panic\.c"
                       r"|kernel/printk/.*|kernel/stacktrace\.c|arch/[^/]+/kernel/(?:dumpstack.*|traps|stacktrace)\.c)$")


def frame_file(frame: dict[str, Any], by_line: dict[int, dict[str, Any]]) -> str:
    """A frame's source file: its decoded function's own file (the last location: not an inlined
    header), else the `file:line` the log printed with it."""
    locations = (by_line.get(frame.get("line")) or {}).get("locations") or []
    if locations:
        return locations[-1]["file"]
    return frame["source"].rsplit(":", 1)[0] if frame.get("source") else ""


def own_file(report: dict[str, Any], decoded: dict[str, Any] | None) -> str:
    """The guilty frame's own source file (decoded, or printed with it); "" when it has none."""
    frames = report.get("frames") or []
    guilty = report.get("guilty")
    if guilty is None or not 0 <= guilty < len(frames):
        return ""
    by_line = by_log_line(decoded)
    own = frames[guilty]
    # The same function printed twice (the RIP line and the trace): either decoded line will do.
    same = [f for f in frames if f is not own and own.get("function")
            and (f.get("function"), f.get("module")) == (own.get("function"), own.get("module"))]
    for frame in [own, *same]:
        path = frame_file(frame, by_line)
        if path and not MACHINERY.match(path.lstrip("./")):
            return path
    return ""


def by_log_line(decoded: dict[str, Any] | None) -> dict[int, dict[str, Any]]:
    return {f.get("line"): f for f in (decoded or {}).get("frames") or ()}


def guilty_file(report: dict[str, Any], decoded: dict[str, Any] | None, lines: list[str]) -> str:
    """The guilty frame's own source file (decoded, or printed with it), else the file of a
    `kernel BUG at` / `WARNING: ... at` line of the report, else "" (unknown).

    Never another frame's file: when the guilty frame is in a module that was not decoded, the other
    frames are its callers or the reporting machinery (dump_stack, the KASAN report, a debugfs write
    that triggered lkdtm), whose maintainers are the wrong people to ask."""
    return own_file(report, decoded) or file_from_text(lines) or ""


def sections_of(found: Maintainers | None, crash: Crash) -> list[str]:
    """Every MAINTAINERS section of the crash's guilty file but THE REST, most specific first."""
    if not found or not crash.guilty_file:
        return []
    return [m.section.name[:200] for m in found.for_file(crash.guilty_file, crash.search_text + " " + crash.title)
            if not m.section.is_catch_all]


def file_under(crash: Crash, found: Maintainers | None) -> None:
    """Set the crash's subsystem (the most specific section, shown) and subsystems (all, filtered by)."""
    named = sections_of(found, crash)
    crash.subsystem = named[0] if named else ""
    crash.subsystems = joined(named)


def matches(crash: Crash) -> list[Match]:
    """The crash's MAINTAINERS sections, most specific first (empty without a file or a MAINTAINERS)."""
    if not crash.guilty_file:
        return []
    found = maintainers_for(crash.log.tree)
    return found.for_file(crash.guilty_file, crash.search_text + " " + crash.title) if found else []


def assign(crashes: Iterable[Crash], tree: str, lines: list[str]) -> None:
    """Fill guilty_file, subsystem (the most specific section but THE REST) and subsystems (every
    section but THE REST) and save them."""
    from triage import cluster_facets  # (it reads split() from here)

    found = maintainers_for(tree)
    changed = []
    crashes = list(crashes)
    before = {c.pk: c.subsystems for c in crashes}
    for crash in crashes:
        crash.guilty_file = guilty_file(crash.report, crash.decoded, lines[crash.start_line:crash.end_line + 1])[:300]
        file_under(crash, found)
        changed.append(crash)
    Crash.objects.bulk_update(changed, ["guilty_file", "subsystem", "subsystems"])
    cluster_facets.sections_filed(changed, before)


def cluster_matches(cluster) -> tuple[str, list[Match]]:
    """The guilty file most of a cluster's newest crashes point at (the last SAMPLE), and its sections."""
    from collections import Counter

    newest = (Crash.objects.filter(cluster=cluster).order_by("-log_id")
              .values_list("guilty_file", "log__tree")[:SAMPLE])
    counts = Counter(row for row in newest if row[0])
    if not counts:
        return "", []
    (path, tree), _ = counts.most_common(1)[0]
    found = maintainers_for(tree)
    return path, (found.for_file(path, cluster.title) if found else [])
