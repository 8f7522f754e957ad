"""KernelCI's KCIDB interchange: import a submission's tests as runs (fetching each log_url), and
export runs and crashes as a submission (schema from the kcidb-io package, its latest version).

Mapping: a KCIDB checkout is our (tree, branch, commit); a build adds (config, arch); a test is one
log (one run). On export a crash is an incident of the issue that is its cluster.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from kcidb_io import schema

from triage.fetching import fetch
from triage.ingest import RejectedUpload, store_log
from triage.models import Crash, Log

SCHEMA = schema.LATEST
FULL_SHA1 = re.compile(r"^[0-9a-f]{40}$")
NOT_PATH = re.compile(r"[^a-zA-Z0-9_.-]+")


class KcidbError(ValueError):
    """The submission is not valid KCIDB (the message says where)."""


def origin() -> str:
    return settings.TRIAGE_KCIDB_ORIGIN


def _id(kind: str, *parts: str) -> str:
    digest = hashlib.sha1("\x00".join(parts).encode()).hexdigest()[:16]
    return f"{origin()}:{kind}-{digest}"


def test_path(name: str) -> str:
    """Our test name as a KCIDB dotted path ("lkdtm-BUG" stays, "boot / qemu" -> "boot_qemu")."""
    parts = [NOT_PATH.sub("_", p).strip("_") or "_" for p in name.split(".")] if name else []
    return ".".join(parts)


# --- export ---------------------------------------------------------------------------------------


def export(logs: Iterable[Log], absolute: Callable[[str], str]) -> dict:
    """A KCIDB submission of these runs: checkouts, builds, tests, and our clusters as issues with
    their crashes as incidents. `absolute` makes a path a full URL."""
    logs = list(logs)
    out: dict = {"version": {"major": SCHEMA.major, "minor": SCHEMA.minor},
                 "checkouts": [], "builds": [], "tests": [], "issues": [], "incidents": []}
    checkouts, builds, issues = {}, {}, {}
    for log in logs:
        cid = _id("checkout", log.tree, log.branch, log.commit)
        if cid not in checkouts:
            checkout = {"id": cid, "origin": origin(), "valid": True,
                        "misc": {"tree": log.tree, "branch": log.branch, "commit": log.commit}}
            if log.tree:
                checkout["tree_name"] = log.tree
            if log.branch:
                checkout["git_repository_branch"] = log.branch
            if FULL_SHA1.match(log.commit):
                checkout["git_commit_hash"] = log.commit
            checkouts[cid] = checkout
        bid = _id("build", cid, log.config, log.arch)
        if bid not in builds:
            build = {"id": bid, "origin": origin(), "checkout_id": cid}
            if log.arch:
                build["architecture"] = log.arch
            if log.config:
                build["config_name"] = log.config
            builds[bid] = build
        test = {"id": f"{origin()}:log-{log.pk}", "origin": origin(), "build_id": bid, "path": test_path(log.test),
                "log_url": absolute(f"/logs/{log.pk}/raw"), "start_time": log.created.isoformat(),
                "misc": {"triage_url": absolute(log.get_absolute_url()), "run_id": log.run_id,
                         "crashes": log.crash_count}}
        if log.machine:
            test["environment"] = {"comment": log.machine}
        if log.status == Log.Status.DONE:
            test["status"] = "FAIL" if log.crash_count else "PASS"
        elif log.status == Log.Status.FAILED:
            test["status"] = "ERROR"
        out["tests"].append(test)
    crashes = Crash.objects.filter(log__in=logs).exclude(cluster=None).select_related("cluster").order_by("pk")
    for crash in crashes:
        cluster = crash.cluster
        iid = f"{origin()}:cluster-{cluster.pk}"
        if iid not in issues:
            issues[iid] = {"id": iid, "version": 1, "origin": origin(), "report_subject": cluster.title,
                           "report_url": absolute(cluster.get_absolute_url()), "culprit": {"code": True},
                           "misc": {"status": cluster.status, "kind": cluster.kind}}
        out["incidents"].append({"id": f"{origin()}:crash-{crash.pk}", "origin": origin(), "issue_id": iid,
                                 "issue_version": 1, "test_id": f"{origin()}:log-{crash.log_id}", "present": True,
                                 "comment": crash.title, "misc": {"triage_url": absolute(crash.get_absolute_url())}})
    out["checkouts"], out["builds"], out["issues"] = list(checkouts.values()), list(builds.values()), list(issues.values())
    SCHEMA.validate(out)  # what we send must be what KCIDB takes
    return out


# --- import ---------------------------------------------------------------------------------------


@dataclass
class Imported:
    test_id: str
    status: str  # created | existing | skipped | error
    log: int | None = None
    url: str = ""
    error: str = ""

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in ("", None)}


@dataclass
class ImportResult:
    tests: list[Imported] = field(default_factory=list)

    def to_dict(self) -> dict:
        counts: dict[str, int] = {}
        for t in self.tests:
            counts[t.status] = counts.get(t.status, 0) + 1
        return {"counts": counts, "tests": [t.to_dict() for t in self.tests]}


def validated(data: object) -> dict:
    """The submission upgraded to the latest schema version and valid, else KcidbError saying why."""
    try:
        data = SCHEMA.upgrade(data, copy=True)  # takes older schema versions too
        SCHEMA.validate(data)
    except Exception as exc:  # jsonschema's ValidationError and kcidb-io's version errors
        raise KcidbError(f"not a valid KCIDB submission: {str(exc).splitlines()[0][:500]}") from None
    tests = data.get("tests", [])
    if len(tests) > settings.TRIAGE_KCIDB_MAX_TESTS:
        raise KcidbError(f"{len(tests)} tests in one submission; send at most {settings.TRIAGE_KCIDB_MAX_TESTS}")
    return data


def import_submission(data: object, user=None, fetcher=fetch,
                      progress: Callable[[ImportResult], None] | None = None) -> tuple[ImportResult, list[Log]]:
    """Store each test of a KCIDB submission that has a log_url as a run with the checkout's and
    build's metadata. Tests without logs are skipped (a run is a console log here). `progress` is
    called with the result so far after each test."""
    data = validated(data)
    checkouts = {c["id"]: c for c in data.get("checkouts", [])}
    builds = {b["id"]: b for b in data.get("builds", [])}
    result, created = ImportResult(), []
    for test in data.get("tests", []):
        if progress and result.tests:
            progress(result)
        if not test.get("log_url"):
            result.tests.append(Imported(test["id"], "skipped", error="no log_url"))
            continue
        build = builds.get(test["build_id"], {})
        checkout = checkouts.get(build.get("checkout_id", ""), {})
        env = test.get("environment") or {}
        metadata = {
            "tree": checkout.get("tree_name", ""), "branch": checkout.get("git_repository_branch", ""),
            "commit": checkout.get("git_commit_hash", ""), "config": build.get("config_name", ""),
            "arch": build.get("architecture", ""), "test": test.get("path", ""),
            "machine": env.get("comment", "") or ",".join(env.get("compatible", [])[:1]), "run_id": test["id"],
        }
        try:
            chunks = fetcher(test["log_url"], settings.TRIAGE_MAX_LOG_BYTES, settings.TRIAGE_KCIDB_FETCH_TIMEOUT)
            log, new = store_log(chunks, test["log_url"].rsplit("/", 1)[-1][:200] or "log", metadata, user)
        except RejectedUpload as exc:
            result.tests.append(Imported(test["id"], "error", error=str(exc)))
            continue
        result.tests.append(Imported(test["id"], "created" if new else "existing", log=log.pk))
        if new:
            created.append(log)
    return result, created
