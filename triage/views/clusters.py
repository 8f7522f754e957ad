"""Cluster pages (list, detail with history and chart) and people's merge/split/rename."""

from __future__ import annotations

from collections import defaultdict

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from triage import charts, cluster_facets, listing, subsystems
from triage import clusters as filing
from triage.cluster_counts import page_groups
from triage.cluster_groups import Groups
from triage.models import Cluster, ClusterTitle, Crash, Log
from triage.permissions import can_triage, triage_required
from triage.sparklines import sparklines
from triage.views.common import page

TIMELINE_COMMITS = 30
SEEN_ON = (("commit", "commits"), ("config", "configs"), ("arch", "arches"), ("machine", "machines"),
           ("test", "tests"))


def cluster_filters() -> list[listing.Filter]:
    def crashed_in(field: str):
        return lambda qs, v: qs.filter(pk__in=cluster_facets.clusters_in(field, v))
    return [
        # title=: the API's name of this filter (/api/clusters/?title=), so a URL written with it works
        listing.Filter("q", "title", lambda qs, v: qs.filter(filing.clusters_matching(v)), aliases=("title",)),
        listing.Filter("kind", "kind", lambda qs, v: qs.filter(kind__iexact=v),
                       choices=lambda: listing.known_values(Cluster, "kind")),
        listing.Filter("status", "status", lambda qs, v: qs.filter(status=v), choices=lambda: Cluster.Status.choices,
                       select=True),
        *[listing.Filter(f, f, crashed_in(f), choices=lambda f=f: listing.known_values(Log, f))
          for f in ("tree", "branch", "config", "arch", "test")],
        listing.Filter("subsystem", "subsystem",
                       lambda qs, v: qs.filter(pk__in=cluster_facets.clusters_in_section(v)),
                       choices=subsystems.filed_names),
        listing.since_filter("seen_since", "last seen since", "last_seen"),
        listing.before_filter("seen_before", "last seen before", "last_seen"),
        listing.since_filter("first_since", "first seen since", "first_seen"),
        listing.before_filter("first_before", "first seen before", "first_seen"),
    ]


CLUSTER_SORTS = {"title": "title", "crashes": "crash_count", "first_seen": "first_seen", "last_seen": "last_seen"}


CRASH_SCOPED = ("tree", "branch", "config", "arch", "test", "subsystem")  # filters that pick crashes


def matching_counts(cluster_ids: list[int], active: dict[str, str]) -> dict[int, int] | None:
    """Crashes of each cluster shown that match the list's crash filters (tree, config, ...): a
    cluster's own count is every crash of it, which would read as the filtered one. None unfiltered."""
    scoped = {name: value for name, value in active.items() if name in CRASH_SCOPED}
    if not scoped:
        return None
    crashes = Crash.objects.filter(cluster_id__in=cluster_ids)
    for name, value in scoped.items():
        crashes = (crashes.filter(subsystems.in_section(value)) if name == "subsystem"
                   else crashes.filter(**{f"log__{name}": value}))
    return dict(crashes.values("cluster_id").annotate(n=Count("id")).order_by().values_list("cluster_id", "n"))


def cluster_list(request: HttpRequest) -> HttpResponse:
    clusters = Cluster.objects.filter(merged_into=None, crash_count__gt=0)
    clusters, shown = listing.apply(request.GET, clusters, cluster_filters(), CLUSTER_SORTS, "-last_seen")
    paged = page(request, clusters.prefetch_related("links"))
    matching = matching_counts([c.pk for c in paged], shown.active)
    return render(request, "clusters.html", {"page": paged, "listing": shown,
                                             "sparks": sparklines(c.pk for c in paged),
                                             "matching": matching, "counts_filtered": matching is not None})


SEEN_SHOWN = 20  # values of each (commits, configs, ...) named on the page, the most frequent first


def seen_on(groups: Groups) -> dict[str, tuple[list[tuple[str, int]], int]]:
    """Crashes per commit, config, arch, machine, test and build: the most frequent of each, and how
    many more values there are (the page says how many it leaves out)."""
    # ties sort by value: the rows come in no set order (PostgreSQL) and the page should not reshuffle
    return {name: (sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0])))[:SEEN_SHOWN],
                   max(0, len(counter) - SEEN_SHOWN))
            for name, counter in groups.seen.items()}


def timeline(groups: Groups) -> list[dict]:
    """fail:runs of the cluster per commit of each tree/branch, newest first (one more GROUP BY for the runs).

    The runs of a commit are its analysed runs on that tree/branch in the jobs (test, config, arch) the
    cluster was seen in: a run of another test says nothing about this failure. Each row's "previous"
    is the next older commit of the same tree/branch (a commit of another tree is no base to compare with).
    """
    fails = sorted(({"tree": c.tree, "branch": c.branch, "commit": c.commit, "fail": c.failing_runs,
                     "first": c.first, "last": c.last} for c in groups.commits.values() if c.failing_runs),
                   key=lambda r: r["last"], reverse=True)[:TIMELINE_COMMITS]
    runs: dict[tuple[str, str, str], int] = defaultdict(int)
    for tree, branch, commit, test, config, arch, n in (
            Log.objects.filter(status=Log.Status.DONE, commit__in={f["commit"] for f in fails})
            .values("tree", "branch", "commit", "test", "config", "arch").annotate(n=Count("id")).order_by()
            .values_list("tree", "branch", "commit", "test", "config", "arch", "n")):
        if (test, config, arch) in groups.jobs:
            runs[(tree, branch, commit)] += n
    older: dict[tuple[str, str], str | None] = {}
    for row in reversed(fails):  # oldest first: the previous commit of each tree/branch so far
        line = (row["tree"], row["branch"])
        row["previous"] = older.get(line)  # for a "compare with the previous" link
        if row["commit"]:
            older[line] = row["commit"]
        row["runs"] = max(runs.get((*line, row["commit"]), 0), row["fail"])
        row["rate"] = 100.0 * row["fail"] / row["runs"] if row["runs"] else 0.0
    return fails


def by_branch(line: list[dict]) -> list[dict]:
    """The timeline's rows grouped by tree/branch, the one with the newest commit first."""
    groups: dict[tuple[str, str], dict] = {}
    for row in line:
        groups.setdefault((row["tree"], row["branch"]), {"tree": row["tree"], "branch": row["branch"],
                                                         "rows": []})["rows"].append(row)
    return list(groups.values())


def cluster_detail(request: HttpRequest, pk: int) -> HttpResponse:
    cluster = get_object_or_404(Cluster, pk=pk)
    if cluster.merged_into_id:
        return redirect(filing.live(cluster))
    # newest first by log (upload order): read from the (cluster, log) index, no sort of every crash
    crashes = Crash.objects.filter(cluster=cluster).for_rows().order_by("-log_id", "index")
    titles = list(cluster.titles.order_by("source", "title"))
    split = request.GET.get("split", "")
    groups = page_groups(cluster, split)
    line = timeline(groups)
    guilty_file, matches = subsystems.cluster_matches(cluster)
    return render(request, "cluster.html", {
        "cluster": cluster,
        "page": page(request, crashes),
        "titles": titles,
        "own_titles": [t for t in titles if t.source != ClusterTitle.Source.ALT],
        "events": cluster.events.select_related("user")[:20],
        "merged": cluster.merged.all()[:50],
        "seen": seen_on(groups),
        "timeline": by_branch(line), "guilty_file": guilty_file, "matches": matches,
        "chart": charts.per_day_of_groups(groups.per_day, split),
        "split": split, "split_links": [("", "none"), ("commit", "commit"), ("config", "config")],
        "rate_chart": charts.fail_rate_per_commit(line),
        "similar": filing.similar_clusters(cluster),
        "can_triage": can_triage(request.user), "statuses": Cluster.Status.choices,
    })


def _edit(request: HttpRequest, pk: int, action, done: str) -> HttpResponse:
    try:
        cluster = action()
    except filing.ClusterEditError as exc:
        messages.error(request, str(exc))
        return redirect("cluster", pk=pk)
    messages.info(request, done)
    return redirect(cluster)


@triage_required
@require_POST
def cluster_merge(request: HttpRequest, pk: int) -> HttpResponse:
    """Merge this cluster into the one named by `into` (a cluster number)."""
    try:
        into = int(request.POST.get("into", "").strip().lstrip("#"))
    except ValueError:
        messages.error(request, "Say which cluster to merge into (its number).")
        return redirect("cluster", pk=pk)
    return _edit(request, pk, lambda: filing.merge(pk, into, request.user), f"Cluster #{pk} was merged here.")


@triage_required
@require_POST
def cluster_split(request: HttpRequest, pk: int) -> HttpResponse:
    """Move the checked titles (and their crashes) to a new cluster."""
    return _edit(request, pk, lambda: filing.split(pk, request.POST.getlist("titles"),
                                                   request.POST.get("title", ""), request.user),
                 f"Split from cluster #{pk}.")


@triage_required
@require_POST
def cluster_rename(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit(request, pk, lambda: filing.rename(pk, request.POST.get("title", ""), request.user), "Renamed.")
