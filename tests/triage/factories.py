"""Plain factory functions for tests: real rows made the way the app makes them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from triage.clusters import file_crash
from triage.ingest import store_log
from triage.models import Crash, Log, StatKey
from workers.report import Frame, Report


def make_user(username: str = "bot"):
    user, _ = get_user_model().objects.get_or_create(username=username)
    return user


def make_triager(username: str = "triager"):
    """A user in the "triagers" group, as the admin grants it (see triage.permissions)."""
    from django.contrib.auth.models import Group

    from triage.permissions import TRIAGERS_GROUP

    user = make_user(username)
    user.groups.add(Group.objects.get(name=TRIAGERS_GROUP))
    return user


def make_token(username: str = "bot") -> str:
    return Token.objects.get_or_create(user=make_user(username))[0].key


def make_log(data: bytes, filename: str = "dmesg.txt", **metadata: str) -> Log:
    log, _ = store_log(iter([data]), filename, metadata)
    return log


def make_report(title: str, functions: Sequence[str] = (), alt_titles: Sequence[str] = (),
                corrupted: bool = False, kind: str = "BUG") -> Report:
    """A parsed report as the engine gives it: `functions` are its stack, top first."""
    frames = [Frame(function=f, offset=0x10, size=0x80, line=10 + i) for i, f in enumerate(functions)]
    return Report(title=title, kind=kind, alt_titles=list(alt_titles), corrupted=corrupted, frames=frames,
                  guilty=0 if frames else None)


def make_crash(log: Log, report: Report, index: int = 0) -> Crash:
    """A crash row stored and filed the way triage.analysis.save_analysis does it."""
    guilty = report.guilty_frame
    crash = Crash.objects.create(
        log=log, index=index, title=report.title, alt_titles=report.alt_titles, kind=report.kind,
        corrupted=report.corrupted, guilty_function=(guilty.function if guilty else "") or "",
        report=report.to_dict())
    file_crash(crash).refresh_stats()
    return crash


def make_run(commit: str = "", stat_keys: Iterable[str] = (), reports: Iterable[Report] = (),
             status: str = Log.Status.DONE, **metadata: str) -> Log:
    """One analysed run (a log) without stored bytes: its stat keys and its crashes, filed."""
    log = Log.objects.create(fingerprint=uuid.uuid4().hex, sha256="0" * 64, size=0, raw="", status=status,
                             commit=commit, **metadata)
    StatKey.objects.bulk_create([StatKey(log=log, key=k) for k in dict.fromkeys(stat_keys)])
    for i, report in enumerate(reports):
        make_crash(log, report, i)
    return log
