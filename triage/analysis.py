"""Turning the engine's answer for a log into rows: crashes, stat keys, clusters, build match."""

from __future__ import annotations

from dataclasses import fields, is_dataclass, replace

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from triage import cluster_facets, subsystems
from triage.clusters import file_crash
from triage.decode_queue import queue_decodes
from triage.ingest import read_lines
from triage.models import Build, Cluster, Crash, Log, StatKey, VanishedCrash
from triage.search import crash_search_text
from workers.report import ParsedLog

INDEX_SHIFT = 1_000_000  # above any report count (the parser caps reports per log far lower)


def without_nul(value):
    """The value with NUL characters dropped from every string, however deep: PostgreSQL's text and
    JSON columns refuse them (the raw bytes of the log keep them)."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, list | tuple):
        return type(value)(without_nul(v) for v in value)
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if is_dataclass(value) and not isinstance(value, type):
        return replace(value, **{f.name: without_nul(getattr(value, f.name)) for f in fields(value) if f.init})
    return value


def match_build(log: Log) -> Build | None:
    """The build a log ran: by GNU build-id when the log shows one, else by release string."""
    if log.buildid:
        build = Build.objects.filter(buildid=log.buildid).order_by("-created").first()
        if build:
            return build
    if not log.release:
        return None
    same_release = Build.objects.filter(release=log.release).order_by("-created")
    if log.buildid:  # a build of the same release but another build-id is another kernel
        same_release = same_release.filter(Q(buildid="") | Q(buildid=log.buildid))
    return same_release.first()


def refresh_clusters(pks: set[int]) -> None:
    """Recount clusters under a row lock (in pk order, so two workers cannot deadlock): a worker that
    files into the same cluster at the same time waits, then counts our committed rows with its own."""
    for cluster in Cluster.objects.select_for_update().filter(pk__in=pks).order_by("pk"):
        cluster.refresh_stats()


CRASH_FIELDS = ["index", "title", "alt_titles", "kind", "corrupted", "guilty_function", "report", "start_line",
                "end_line", "decode_status", "decode_error", "decoded", "search_text"]


def save_crashes(log: Log, parsed: ParsedLog, earlier: dict[int, Crash]) -> None:
    """Rows for the parsed reports: updated in place where a report starts on the line an earlier one
    did (its id survives), created for new ones; earlier ones not found again leave a tombstone."""
    log.crashes.update(index=F("index") + INDEX_SHIFT)  # free every position for the new order
    kept, new = [], []
    for i, report in enumerate(parsed.reports):
        guilty = report.guilty_frame
        fields = dict(
            index=i, title=report.title[:500], alt_titles=[t[:500] for t in report.alt_titles],
            kind=report.kind[:64], corrupted=report.corrupted,
            guilty_function=((guilty.function if guilty else "") or "")[:200], report=without_nul(report.to_dict()),
            start_line=report.start_line, end_line=report.end_line,
            decode_status=Crash.Decode.WAITING, decode_error="", decoded=None,
            search_text=crash_search_text(report.to_dict()))
        crash = earlier.pop(report.start_line, None)
        if crash is None:
            new.append(Crash(log=log, **fields))
        else:
            for name, value in fields.items():
                setattr(crash, name, value)
            kept.append(crash)
    gone = list(earlier.values())
    if gone:
        VanishedCrash.objects.bulk_create(
            [VanishedCrash(crash_id=c.pk, log=log, title=c.title, start_line=c.start_line, cluster_id=c.cluster_id)
             for c in gone], ignore_conflicts=True)
        Crash.objects.filter(pk__in=[c.pk for c in gone]).delete()
    Crash.objects.bulk_update(kept, CRASH_FIELDS)
    Crash.objects.bulk_create(new)


def report_lines(log: Log, stop: int) -> list[str]:
    """The log's lines up to the last report (for `kernel BUG at file:line`); none when unreadable."""
    try:
        return read_lines(log, stop)[0] if log.raw else []
    except (OSError, ValueError):
        return []


def save_analysis(log: Log, parsed: ParsedLog) -> list[Crash]:
    """Replace whatever an earlier analysis of this log stored with this one (re-runs are safe); a
    report found again at the same place keeps its crash row and id."""
    with transaction.atomic():
        # One analysis of a log at a time (a double "analyze again", a redelivered task): the second
        # waits here, then replaces the first one's rows instead of colliding with them.
        Log.objects.select_for_update().filter(pk=log.pk).first()
        # Where each report of an earlier analysis was filed, by its first line: a parser upgrade that
        # renames a crash keeps it in its cluster (and its merges) instead of opening a new one.
        # The same report (same log, same first line) keeps its row, so its id and URL stay valid.
        earlier = {c.start_line: c for c in log.crashes.order_by("index")}
        previous = {start: c.cluster_id for start, c in earlier.items() if c.cluster_id}
        log.stat_keys.all().delete()
        # Reports past the cap are counted, not stored (syzkaller keeps the first reports too): a log
        # of 250,000 one-line WARNINGs costs a bounded number of rows, and its page a bounded size.
        # The worker's parse already stopped building them (parsed.reports_dropped); any still over
        # the cap (a parse made without it) are counted here.
        limit = settings.TRIAGE_MAX_REPORTS_PER_LOG
        log.reports_dropped = parsed.reports_dropped + max(0, len(parsed.reports) - limit)
        parsed = without_nul(replace(parsed, reports=parsed.reports[:limit], notices=parsed.notices[:limit]))
        log.release = (parsed.release or "")[:200]
        log.buildid = (parsed.build_id or "")[:80]
        if parsed.arch and not log.arch:
            log.arch = parsed.arch[:32]
        log.stat_source = parsed.stat_source
        log.notices = [{"title": n.title, "kind": n.kind, "start_line": n.start_line, "end_line": n.end_line}
                       for n in parsed.notices]
        log.build = match_build(log)
        save_crashes(log, parsed, earlier)
        crashes = list(log.crashes.order_by("index"))
        touched = set(previous.values())
        for crash in crashes:
            touched.add(file_crash(crash, previous=previous.get(crash.start_line)).pk)
        cluster_facets.add(log, (c.cluster_id for c in crashes))
        cluster_facets.recount(set(previous.values()) - {c.cluster_id for c in crashes})  # filed elsewhere now
        StatKey.objects.bulk_create(
            [StatKey(log=log, key=key[:500]) for key in dict.fromkeys(parsed.prefixed_stat_keys)])
        if crashes:
            subsystems.assign(crashes, log.tree, report_lines(log, max(c.end_line for c in crashes) + 1))
        log.crash_count = len(crashes)
        log.status, log.error, log.processed = Log.Status.DONE, "", timezone.now()
        log.analyses = F("analyses") + 1
        log.save()
        log.refresh_from_db(fields=["analyses"])
        refresh_clusters(touched)
        if crashes and log.build and log.build.index_status in (Build.Index.READY, Build.Index.BUILDING):
            queue_decodes([log.pk])  # a broker error here must not fail the analysis (the sweeper sends it)
    return crashes
