"""Plain factory functions for tests: real rows made the way the app makes them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from django.contrib.auth import get_user_model

from triage import cluster_facets
from triage.clusters import file_crash
from triage.ingest import store_log
from triage.models import Crash, Log, StatKey
from triage.search import crash_search_text
from triage.subsystems import joined
from workers.report import Frame, Report


def make_user(username: str = "bot"):
    user, _ = get_user_model().objects.get_or_create(username=username)
    return user


def make_triager(username: str = "triager"):
    """A user in the "triagers" group, as the admin grants it (see triage.permissions)."""
    from django.contrib.auth.models import Group, Permission

    from triage.permissions import TRIAGE_PERMISSION, TRIAGERS_GROUP

    user = make_user(username)
    # The migration makes the group; transactional tests (live server, real workers) flush it away.
    group, created = Group.objects.get_or_create(name=TRIAGERS_GROUP)
    if created:
        app_label, codename = TRIAGE_PERMISSION.split(".")
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    user.groups.add(group)
    return user


def make_token(username: str = "bot", scopes: Iterable[str] = ("upload", "read", "triage"), name: str = "ci") -> str:
    """The key of a new API token of `username` with these scopes (as the settings page makes it)."""
    from triage.tokens import create_token

    return create_token(make_user(username), name, scopes)[1]


def make_log(data: bytes, filename: str = "dmesg.txt", **metadata: str) -> Log:
    log, _ = store_log(iter([data]), filename, metadata)
    return log


def make_report(title: str, functions: Sequence[str] = (), alt_titles: Sequence[str] = (),
                corrupted: bool = False, kind: str = "BUG") -> Report:
    """A parsed report as the engine gives it: `functions` are its stack, top first."""
    frames = [Frame(function=f, offset=0x10, size=0x80, line=10 + i) for i, f in enumerate(functions)]
    return Report(title=title, kind=kind, alt_titles=list(alt_titles), corrupted=corrupted, frames=frames,
                  guilty=0 if frames else None)


def make_crash(log: Log, report: Report, index: int = 0, subsystem: str | Sequence[str] = "") -> Crash:
    """A crash row stored and filed the way triage.analysis.save_analysis does it; `subsystem` is the
    MAINTAINERS section triage.subsystems would have found for its guilty file, or all of them, most
    specific first."""
    sections = [subsystem] if isinstance(subsystem, str) else list(subsystem)
    subsystem = sections[0] if sections else ""
    guilty = report.guilty_frame
    crash = Crash.objects.create(
        log=log, index=index, title=report.title, alt_titles=report.alt_titles, kind=report.kind,
        corrupted=report.corrupted, guilty_function=(guilty.function if guilty else "") or "",
        report=report.to_dict(), search_text=crash_search_text(report.to_dict()), subsystem=subsystem,
        subsystems=joined(sections))
    cluster = file_crash(crash)
    cluster_facets.add(log, [cluster.pk])
    cluster_facets.sections_filed([crash], {})
    cluster.refresh_stats()
    return crash


def make_run(commit: str = "", stat_keys: Iterable[str] = (), reports: Iterable[Report] = (),
             status: str = Log.Status.DONE, subsystem: str | Sequence[str] = "", **metadata: str) -> Log:
    """One analysed run (a log) without stored bytes: its stat keys and its crashes (in `subsystem`), filed."""
    log = Log.objects.create(fingerprint=uuid.uuid4().hex, sha256="0" * 64, size=0, raw="", status=status,
                             commit=commit, **metadata)
    StatKey.objects.bulk_create([StatKey(log=log, key=k) for k in dict.fromkeys(stat_keys)])
    reports = list(reports)
    for i, report in enumerate(reports):
        make_crash(log, report, i, subsystem)
    if reports:  # as the analysis counts them (the home page's crashes per day reads this)
        Log.objects.filter(pk=log.pk).update(crash_count=len(reports))
        log.crash_count = len(reports)
    return log
