"""A regression's report: the text a maintainer pastes into an email reply, in the 0-day robot's shape.

The robot's reports on lore.kernel.org say what was noticed on which commit (and base), the test case,
config, arch and machine, print lkp-tests' fail:runs table (here `workers.compare.fail_runs_table`, the
same printer as the compare page), say "by running N times, we observed the parent keeps clean" when it
does, give the tags to put in the fix, then the decoded report.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count

from triage.ingest import read_lines
from triage.models import Crash, Log, Regression, StatKey
from workers.compare import fail_runs_table
from workers.regress import CLUSTER_PREFIX

EXCERPT_LINES = 80  # of the decoded report, in the text


def site_url(request=None) -> str:
    """The site's own URL for links that leave the site (emails, Closes: tags): SITE_URL. A page
    without it uses the address it was asked by; an email without it cannot be sent."""
    from django.core.exceptions import ImproperlyConfigured

    url = (settings.SITE_URL or "").rstrip("/")
    if not url and request is not None:
        url = request.build_absolute_uri("/").rstrip("/")
    if not url:
        raise ImproperlyConfigured("set SITE_URL (the public address of this triage site, see README)")
    return url


@dataclass
class Side:
    commit: str
    runs: int
    counts: dict[str, int]  # stat keys and "cluster:<pk>" -> failing runs


def side(regression: Regression, commit: str) -> Side:
    """Runs of the regression's job on `commit` and how many failed each of its keys (two queries)."""
    logs = Log.objects.filter(status=Log.Status.DONE, commit=commit, **regression.job.filters())
    on_log = {f"log__{k}": v for k, v in regression.job.filters().items()}
    stat_keys = [k for k in regression.keys if not k.startswith(CLUSTER_PREFIX)]
    counts = dict(StatKey.objects.filter(log__status=Log.Status.DONE, log__commit=commit, key__in=stat_keys,
                                         **on_log).values("key").annotate(n=Count("id")).order_by()
                  .values_list("key", "n"))
    clusters = [int(k.removeprefix(CLUSTER_PREFIX)) for k in regression.keys if k.startswith(CLUSTER_PREFIX)]
    if clusters:
        for cid, n in (Crash.objects.filter(log__status=Log.Status.DONE, log__commit=commit, cluster_id__in=clusters,
                                            **on_log).values("cluster_id").annotate(n=Count("log_id", distinct=True))
                       .order_by().values_list("cluster_id", "n")):
            counts[f"{CLUSTER_PREFIX}{cid}"] = n
    return Side(commit, logs.count(), counts)


def example_crash(regression: Regression) -> Crash | None:
    """A crash of the regression on its first bad commit: decoded if one is, the newest otherwise."""
    crashes = Crash.objects.filter(log__status=Log.Status.DONE, log__commit=regression.first_bad_commit,
                                   **{f"log__{k}": v for k, v in regression.job.filters().items()})
    if regression.cluster_id:
        crashes = crashes.filter(cluster_id=regression.cluster_id)
    crashes = crashes.select_related("log").order_by("-log__created", "index")
    return crashes.filter(decode_status=Crash.Decode.DONE).first() or crashes.first()


def excerpt(crash: Crash) -> str:
    """decode_stacktrace.sh's lines and decodecode's block when the crash was decoded, else the raw
    report with its Code: line disassembled (that needs no vmlinux)."""
    if crash.decoded and crash.decoded.get("text"):
        lines = crash.decoded["text"].splitlines()
    else:
        from workers.codedecode import decode_code_line

        try:
            raw, _ = read_lines(crash.log, crash.end_line + 1)
        except OSError:
            raw = []
        lines = []
        for line in raw[crash.start_line:crash.end_line + 1]:
            lines.append(line)
            if "Code:" in line:
                block = decode_code_line(line, crash.log.arch or None)
                if block:
                    lines.extend(block.rstrip("\n").splitlines())
    if len(lines) > EXCERPT_LINES:
        lines = [*lines[:EXCERPT_LINES], f"[... {len(lines) - EXCERPT_LINES} more lines on the crash's page]"]
    return "\n".join(lines)


def table_key(key: str, titles: dict[int, str]) -> str:
    if key.startswith(CLUSTER_PREFIX):
        cid = int(key.removeprefix(CLUSTER_PREFIX))
        return f"cluster:{titles.get(cid, cid)}"
    return key


def machines(regression: Regression) -> list[tuple[str, int]]:
    logs = Log.objects.filter(status=Log.Status.DONE, commit=regression.first_bad_commit,
                              **regression.job.filters()).exclude(machine="")
    return Counter(dict(logs.values("machine").annotate(n=Count("id")).order_by()
                        .values_list("machine", "n"))).most_common(5)


def report_text(regression: Regression, good: Side | None = None, bad: Side | None = None, request=None) -> str:
    """The report, ready to paste (see the module doc)."""
    site = site_url(request)
    job = regression.job
    good = good or side(regression, regression.last_good_commit)
    bad = bad or side(regression, regression.first_bad_commit)
    titles = {regression.cluster_id: regression.title} if regression.cluster_id else {}
    table = fail_runs_table([
        (good.commit, {table_key(k, titles): v for k, v in good.counts.items()}, good.runs),
        (bad.commit, {table_key(k, titles): v for k, v in bad.counts.items()}, bad.runs),
    ])
    out = ["Hello,", ""]
    if regression.kind == Regression.Kind.AFTER_FIX:
        out += [f'triage noticed "{regression.title}", marked fixed by {regression.last_good_commit}, again on:', ""]
    else:
        out += [f'triage noticed "{regression.title}" on:', ""]
    out.append(f"commit: {regression.first_bad_commit}")
    if job.tree or job.branch:
        out.append(f"tree: {' '.join(v for v in (job.tree, job.branch) if v)}")
    if regression.last_good_commit:
        label = "fixed by" if regression.kind == Regression.Kind.AFTER_FIX else "base"
        out.append(f"{label}: {regression.last_good_commit}")
    if regression.latest_bad_commit and regression.latest_bad_commit != regression.first_bad_commit:
        out.append(f"[still failing on {regression.latest_bad_commit}, {regression.bad_commits} commits in all]")
    out += ["", f"in testcase: {job.test or '-'}", "", f"config: {job.config or '-'}", f"arch: {job.arch or '-'}"]
    seen_on = machines(regression)
    if seen_on:
        out.append("test machine: " + ", ".join(m if len(seen_on) == 1 else f"{m} ({n} run{'s' if n != 1 else ''})" for m, n in seen_on))
    out += ["", table.rstrip("\n"), ""]
    failing = regression.fail_bad
    if bad.runs:
        out.append(f"we observed the issue in {failing} of {bad.runs} runs of the commit"
                   + (f" (p = {regression.p_value:.2g}, Fisher's exact test)." if good.runs else "."))
    if good.runs and not any(good.counts.values()):
        out.append(f"by running {good.runs} time{'s' if good.runs != 1 else ''}, we observed the parent keeps clean.")
    state = {Regression.State.SUSPECTED: "suspected: too few runs to be sure yet",
             Regression.State.CONFIRMED: "confirmed", Regression.State.DISMISSED: "dismissed: the base fails too"}
    out += [f"[{state[regression.state]}]", "",
            "If you fix the issue in a separate patch/commit (i.e. not just a new version of",
            "the same patch/commit), kindly add following tags",
            f"| Reported-by: {settings.TRIAGE_REPORTER}",
            f"| Closes: {site}{regression.get_absolute_url()}", ""]
    crash = example_crash(regression)
    if crash is not None:
        out += [f"{site}{crash.get_absolute_url()}", "", excerpt(crash), ""]
    return "\n".join(out) + "\n"
