"""Re-assigning the stored crashes' guilty files and subsystems after a MAINTAINERS upload.

Crash and cluster pages read MAINTAINERS live, but list filters and digests go by `Crash.subsystems`,
stored at analysis and decoding: an upload (or a removal) re-files the crashes of its tree, in
batches, from what the rows keep (the report's frames, the decoded frames), without parsing a log.

The one input a row does not keep is the `kernel BUG at` / `WARNING: at` line used when the guilty
frame has no file. A stored guilty file that is no frame's file came from that line and stays; the
raw log is read only for the few crashes where it cannot be told (a BUG or WARNING with no file yet,
or a file that an earlier rule took from another frame).

Safe to run twice and on several workers: each batch locks its rows and reads MAINTAINERS after the
lock, so whichever run writes last writes with the newest file.
"""

from __future__ import annotations

from django.db import transaction

from triage import cluster_facets, subsystems
from triage.analysis import report_lines
from triage.models import Crash, Log, MaintainersFile

BATCH = 500
LINE_KINDS = ("BUG", "WARNING")  # reports that may carry a `kernel BUG at` / `WARNING: at` line


def crashes_of(tree: str):
    """The crashes a MAINTAINERS upload for `tree` files ("": every tree without an upload of its own)."""
    if tree:
        return Crash.objects.filter(log__tree=tree)
    own = MaintainersFile.objects.exclude(tree="").values_list("tree", flat=True)
    return Crash.objects.exclude(log__tree__in=list(own))


def _needs_lines(crash: Crash) -> bool:
    """Whether the crash's file can only come from its log text (its guilty frame has no file)."""
    if crash.guilty_file:
        by_line = subsystems.by_log_line(crash.decoded)
        return crash.guilty_file in {subsystems.frame_file(f, by_line) for f in crash.report.get("frames") or ()}
    return crash.kind in LINE_KINDS


def _text_files(crashes: list[Crash]) -> dict[int, str]:
    """The `kernel BUG at` / `WARNING: at` file of each crash, read from its log (one read per log)."""
    logs = Log.objects.in_bulk({c.log_id for c in crashes})
    lines: dict[int, list[str]] = {}
    for log_id, log in logs.items():
        lines[log_id] = report_lines(log, max(c.end_line for c in crashes if c.log_id == log_id) + 1)
    return {c.pk: subsystems.file_from_text(lines.get(c.log_id, [])[c.start_line:c.end_line + 1]) or ""
            for c in crashes}


def _refile(batch: list[Crash], trees: dict[int, str]) -> list[Crash]:
    """The crashes of the batch whose guilty file or subsystem changes, changed."""
    files = {c.pk: subsystems.own_file(c.report, c.decoded) for c in batch}
    kept = {c.pk: c.guilty_file for c in batch if not files[c.pk] and not _needs_lines(c)}
    from_text = _text_files([c for c in batch if not files[c.pk] and c.pk not in kept])
    found: dict[str, object] = {}
    changed = []
    for crash in batch:
        path = (files[crash.pk] or kept.get(crash.pk) or from_text.get(crash.pk) or "")[:300]
        tree = trees[crash.log_id]
        if tree not in found:
            found[tree] = subsystems.maintainers_for(tree)  # read after the rows are locked
        before = (crash.guilty_file, crash.subsystem, crash.subsystems)
        crash.guilty_file = path
        subsystems.file_under(crash, found[tree])
        if (crash.guilty_file, crash.subsystem, crash.subsystems) != before:
            changed.append(crash)
    return changed


def reassign(tree: str, batch_size: int = BATCH) -> int:
    """Re-file the stored crashes of `tree` with its current MAINTAINERS; returns how many changed."""
    rows = crashes_of(tree).order_by("pk").only(
        "pk", "log_id", "kind", "title", "report", "decoded", "search_text", "start_line", "end_line",
        "guilty_file", "subsystem", "subsystems")
    last, changed = 0, 0
    while True:
        with transaction.atomic():
            batch = list(rows.filter(pk__gt=last).select_for_update(of=("self",))[:batch_size])
            if not batch:
                return changed
            last = batch[-1].pk
            trees = dict(Log.objects.filter(pk__in={c.log_id for c in batch}).values_list("pk", "tree"))
            updated = _refile(batch, trees)
            Crash.objects.bulk_update(updated, ["guilty_file", "subsystem", "subsystems"])
            cluster_facets.recount_sections({c.cluster_id for c in updated})
            changed += len(updated)
