"""Turning the engine's answer for a log into rows: crashes, stat keys, clusters, build match."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from triage.clusters import file_crash
from triage.models import Build, Cluster, Crash, Log, StatKey
from workers.report import ParsedLog


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


def save_analysis(log: Log, parsed: ParsedLog) -> list[Crash]:
    """Replace whatever an earlier analysis of this log stored with this one (re-runs are safe)."""
    with transaction.atomic():
        old_clusters = set(log.crashes.exclude(cluster=None).values_list("cluster_id", flat=True))
        log.crashes.all().delete()
        log.stat_keys.all().delete()
        log.release = (parsed.release or "")[:200]
        log.buildid = (parsed.build_id or "")[:80]
        if parsed.arch and not log.arch:
            log.arch = parsed.arch[:32]
        log.stat_source = parsed.stat_source
        log.build = match_build(log)
        crashes = []
        for i, report in enumerate(parsed.reports):
            guilty = report.guilty_frame
            crashes.append(Crash(
                log=log, index=i, title=report.title[:500], alt_titles=report.alt_titles, kind=report.kind[:64],
                corrupted=report.corrupted, guilty_function=((guilty.function if guilty else "") or "")[:200],
                report=report.to_dict(), start_line=report.start_line, end_line=report.end_line,
            ))
        Crash.objects.bulk_create(crashes)
        crashes = list(log.crashes.order_by("index"))
        touched = set(old_clusters)
        for crash in crashes:
            touched.add(file_crash(crash).pk)
        StatKey.objects.bulk_create(
            [StatKey(log=log, key=key[:500]) for key in dict.fromkeys(parsed.prefixed_stat_keys)])
        log.crash_count = len(crashes)
        log.status, log.error, log.processed = Log.Status.DONE, "", timezone.now()
        log.save()
        for cluster in Cluster.objects.filter(pk__in=touched):
            cluster.refresh_stats()
        if crashes and log.build and log.build.index_status == Build.Index.READY:
            from workers.tasks import decode_log

            log.crashes.update(decode_status=Crash.Decode.QUEUED)
            transaction.on_commit(lambda: decode_log.delay(log.pk))
    return crashes
