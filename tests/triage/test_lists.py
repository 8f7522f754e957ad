"""List pages filter, sort and paginate from the query string, and draw sparklines."""

from __future__ import annotations

import re

import pytest

from tests.triage.factories import make_report, make_run
from triage.models import Crash, Log

pytestmark = pytest.mark.django_db


def titles(page: str) -> list[str]:
    return [t for t in re.findall(r'<a href="/(?:crashes|clusters)/\d+/">([^<]+)</a>', page) if not t.startswith("#")]


@pytest.fixture
def two_configs():
    make_run("aaaa111122223333", reports=[make_report("WARNING in alpha_fn", ["alpha_fn"], kind="WARNING")],
             config="kasan", arch="x86_64", tree="mainline", test="boot")
    make_run("bbbb111122223333", reports=[make_report("BUG: KASAN: use-after-free in beta_fn", ["beta_fn"],
                                                      kind="KASAN")],
             config="defconfig", arch="arm64", tree="next", test="ltp")


def test_crash_list_filters_by_kind_config_and_commit_prefix(client, two_configs):
    assert titles(client.get("/crashes/", {"kind": "KASAN"}).content.decode()) == ["BUG: KASAN: use-after-free in beta_fn"]
    assert titles(client.get("/crashes/", {"config": "kasan"}).content.decode()) == ["WARNING in alpha_fn"]
    assert titles(client.get("/crashes/", {"commit": "bbbb1111"}).content.decode()) == ["BUG: KASAN: use-after-free in beta_fn"]
    page = client.get("/crashes/", {"arch": "riscv"}).content.decode()
    assert "No crashes match these filters." in page


def test_crash_list_kind_is_matched_in_any_case_even_a_kind_newer_than_the_known_ones(client, two_configs):
    assert titles(client.get("/crashes/", {"kind": "kasan"}).content.decode()) == ["BUG: KASAN: use-after-free in beta_fn"]
    make_run("cccc", reports=[make_report("UBSAN: shift-out-of-bounds in gamma_fn", ["gamma_fn"], kind="UBSAN")])
    # the known kinds are cached for the filter's suggestions and do not list UBSAN yet
    assert titles(client.get("/crashes/", {"kind": "Ubsan"}).content.decode()) == ["UBSAN: shift-out-of-bounds in gamma_fn"]


def test_crashes_matching_filters_are_counted_up_to_a_cap_and_paged_that_far(client, monkeypatch):
    from triage.views import crashes

    monkeypatch.setattr(crashes, "COUNTED_UP_TO", 2)
    for i in range(3):
        make_run(f"c{i}", reports=[make_report(f"WARNING in fn_{i}", [f"fn_{i}"], kind="WARNING")], config="kasan")
    make_run("d", reports=[make_report("WARNING in other_fn", ["other_fn"], kind="WARNING")], config="debug")
    page = client.get("/crashes/", {"config": "kasan", "sort": "title"}).content.decode()
    assert "(more than 2)" in page and "first 2 crashes that match" in page
    assert titles(page) == ["WARNING in fn_0", "WARNING in fn_1"]
    page = client.get("/crashes/", {"config": "debug"}).content.decode()
    assert "(1)" in page and "that match" not in page


def test_filter_controls_are_labelled_and_offer_known_values(client, two_configs):
    page = client.get("/crashes/").content.decode()
    assert '<label for="f-config">config</label>' in page
    assert '<option value="defconfig">' in page and '<option value="kasan">' in page


def test_cluster_list_sorts_both_ways_and_keeps_filters_in_links(client, two_configs):
    asc = titles(client.get("/clusters/", {"sort": "title"}).content.decode())
    desc = titles(client.get("/clusters/", {"sort": "-title"}).content.decode())
    assert asc == sorted(asc) and desc == asc[::-1] and len(asc) == 2
    page = client.get("/clusters/", {"tree": "next", "sort": "title"}).content.decode()
    assert titles(page) == ["BUG: KASAN: use-after-free in beta_fn"]
    assert 'href="?tree=next&amp;sort=-title"' in page  # clicking again reverses, filter kept


def test_cluster_list_takes_title_as_its_title_filter_and_its_form_writes_q(client):
    make_run("c1", reports=[make_report("WARNING in foo_unplug")])
    make_run("c1", reports=[make_report("BUG: sleeping function called from invalid context in bar")])
    page = client.get("/clusters/?title=unplug").content.decode()
    assert "foo_unplug" in page and "sleeping" not in page
    assert '<input id="f-q" name="q" value="unplug"' in page and "clear filters" in page
    both = client.get("/clusters/?q=sleeping&title=unplug").content.decode()
    assert "sleeping function" in both and "foo_unplug" not in both  # q, when given, wins


def test_clusters_list_draws_a_sparkline_per_cluster(client, two_configs):
    page = client.get("/clusters/").content.decode()
    assert page.count('<svg class="spark"') == 2
    assert "1 crash in the last 30 days" in page


def test_log_list_filters_by_status_and_stat_key(client):
    make_run("c1", stat_keys=["dmesg.WARNING:at_foo"], machine="m1")
    make_run("c2", status=Log.Status.FAILED, machine="m2")
    page = client.get("/logs/", {"stat_key": "dmesg.WARNING:at_foo"}).content.decode()
    assert "m1" in page and ">m2<" not in page
    page = client.get("/logs/", {"status": "failed"}).content.decode()
    assert ">m2<" in page and ">m1<" not in page


def test_bad_sort_and_date_values_fall_back_instead_of_failing(client, two_configs):
    assert client.get("/crashes/", {"sort": "password", "since": "garbage"}).status_code == 200
    assert len(titles(client.get("/crashes/", {"since": "7"}).content.decode())) == Crash.objects.count()


def test_since_and_before_take_whole_days_in_the_sites_time_zone(client, settings):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    settings.TIME_ZONE = "Europe/Paris"
    paris = ZoneInfo("Europe/Paris")
    with timezone.override(paris):
        for title, when in (("WARNING in late_fn", datetime(2026, 11, 9, 23, 59, tzinfo=paris)),
                            ("WARNING in early_fn", datetime(2026, 11, 10, 0, 0, tzinfo=paris))):
            log = make_run("c", reports=[make_report(title, [title.split()[-1]], kind="WARNING")])
            Log.objects.filter(pk=log.pk).update(created=when)
        assert titles(client.get("/crashes/", {"since": "2026-11-10"}).content.decode()) == ["WARNING in early_fn"]
        assert titles(client.get("/crashes/", {"before": "2026-11-09"}).content.decode()) == ["WARNING in late_fn"]
        assert "No crashes match" in client.get("/crashes/", {"since": "2099-01-01"}).content.decode()
        assert "No crashes match" in client.get("/crashes/", {"before": "2000-01-01"}).content.decode()
    for param, value in (("before", "9999-12-31"), ("since", "0001-01-01"), ("since", "99999999")):
        assert client.get("/crashes/", {param: value}).status_code == 200, (param, value)


def test_build_list_sorts_by_each_sortable_column_both_ways_keeping_filters(client):
    from triage.models import Build

    for release, arch, commit in (("6.1.0", "x86_64", "cccc"), ("6.3.0", "arm64", "aaaa"), ("6.2.0", "x86_64", "bbbb")):
        Build.objects.create(release=release, arch=arch, commit=commit)

    def releases(**params) -> list[str]:
        return re.findall(r'<a href="/builds/\d+/">([^<]+)</a>', client.get("/builds/", params).content.decode())

    assert releases() == ["6.2.0", "6.3.0", "6.1.0"]  # newest upload first
    assert releases(sort="release") == ["6.1.0", "6.2.0", "6.3.0"]
    assert releases(sort="-release") == ["6.3.0", "6.2.0", "6.1.0"]
    assert releases(sort="commit") == ["6.3.0", "6.2.0", "6.1.0"]
    assert releases(sort="arch", arch="x86_64") == ["6.1.0", "6.2.0"]  # ties in upload order
    page = client.get("/builds/", {"arch": "x86_64", "sort": "release"}).content.decode()
    for column in ("release", "arch", "commit", "uploaded"):
        assert f'href="?arch=x86_64&amp;sort={"-" if column == "release" else ""}{column}"' in page


def test_pages_are_previous_and_next_in_the_chosen_order_and_keep_the_filters(client, monkeypatch):
    """The pager follows the sort: "newer/older" would be wrong on a list sorted by title."""
    monkeypatch.setattr("triage.views.common.PAGE", 2)
    for i in range(5):
        make_run(f"c{i}", reports=[make_report(f"WARNING in fn_{i}", [f"fn_{i}"], kind="WARNING")], config="kasan")
    page = client.get("/crashes/", {"config": "kasan", "sort": "title"}).content.decode()
    pager = re.search(r'<nav class="pager".*?</nav>', page, re.S).group(0)
    assert "page 1 of 3" in pager and "newer" not in pager and "older" not in pager
    assert titles(page) == ["WARNING in fn_0", "WARNING in fn_1"]
    assert 'href="?config=kasan&amp;sort=title&amp;page=2" rel="next">next' in page
    assert 'href="?config=kasan&amp;sort=title&amp;page=3" aria-label="last page">last' in page
    last = client.get("/crashes/", {"config": "kasan", "sort": "title", "page": "3"}).content.decode()
    assert titles(last) == ["WARNING in fn_4"] and 'rel="prev">&larr; previous' in last


@pytest.mark.parametrize(("url", "param"), [("/logs/", "since"), ("/crashes/", "before"),
                                            ("/clusters/", "seen_since"), ("/regressions/", "since")])
def test_a_date_that_is_no_date_is_ignored_saying_so_not_a_500(client, two_configs, url, param):
    for value in ("2026-02-30", "0000-00-00", "garbage"):
        response = client.get(url, {param: value})
        assert response.status_code == 200, (url, value)
        assert "is not a date" in response.content.decode() and "ignored" in response.content.decode()


def test_filtered_by_tree_the_clusters_list_counts_the_crashes_of_that_tree_of_all(client):
    report = make_report("WARNING in shared_fn", ["shared_fn"], kind="WARNING")
    for tree in ("stable", "stable", "next"):
        make_run(f"c-{tree}", reports=[report], tree=tree)
    page = client.get("/clusters/", {"tree": "next"}).content.decode()
    assert "Crashes (matching of all)" in page and ">1 of 3<" in page
    assert ">3<" in client.get("/clusters/").content.decode()


def test_crash_list_sorts_by_kind_cluster_and_commit_both_ways_from_its_headers(client):
    for commit, title, kind in (("cccc", "WARNING in gamma_fn", "WARNING"), ("aaaa", "BUG: soft lockup in alpha_fn", "BUG"),
                                ("bbbb", "KASAN: use-after-free in beta_fn", "KASAN")):
        make_run(commit, reports=[make_report(title, [title.split()[-1]], kind=kind)], config="kasan")

    def listed(**params) -> list[str]:
        return titles(client.get("/crashes/", params).content.decode())

    by_cluster = sorted(Crash.objects.values_list("cluster_id", "title"))
    assert listed(sort="kind") == ["BUG: soft lockup in alpha_fn", "KASAN: use-after-free in beta_fn", "WARNING in gamma_fn"]
    assert listed(sort="-kind") == listed(sort="kind")[::-1]
    assert listed(sort="cluster") == [t for _, t in by_cluster] and listed(sort="-cluster") == listed(sort="cluster")[::-1]
    assert listed(sort="commit") == ["BUG: soft lockup in alpha_fn", "KASAN: use-after-free in beta_fn", "WARNING in gamma_fn"]
    assert listed(sort="-commit", config="kasan") == listed(sort="commit")[::-1]
    page = client.get("/crashes/", {"config": "kasan", "sort": "kind"}).content.decode()
    assert "<td>KASAN</td>" in page  # the kind has its column to be sorted by
    for column in ("title", "kind", "cluster", "commit", "when"):
        assert f'href="?config=kasan&amp;sort={"-" if column == "kind" else ""}{column}"' in page


def test_a_commits_crashes_sort_by_kind_and_cluster_in_the_same_queries_however_many(
        client, django_assert_max_num_queries):
    reports = [make_report(f"{kind} in fn_{i}", [f"fn_{i}"], kind=kind)
               for i, kind in enumerate(("WARNING", "BUG", "KASAN"))]
    make_run("dddd111122223333", reports=reports[:2])
    make_run("dddd111122223333", reports=reports[2:])
    make_run("eeee111122223333", reports=[make_report("BUG in other_fn", ["other_fn"], kind="BUG")])

    def listed(**params) -> list[str]:
        return titles(client.get("/crashes/", {"commit": "dddd1111"} | params).content.decode())

    assert listed(sort="kind") == ["BUG in fn_1", "KASAN in fn_2", "WARNING in fn_0"]
    assert listed(sort="-kind") == listed(sort="kind")[::-1]
    by_cluster = [t for _, t in sorted(Crash.objects.filter(log__commit="dddd111122223333")
                                       .values_list("cluster_id", "title"))]
    assert listed(sort="cluster") == by_cluster
    client.get("/crashes/", {"commit": "dddd1111"})  # the choices cached
    with django_assert_max_num_queries(5):  # a row reading a field the list left out would add one each
        assert len(listed(sort="title")) == 3


def test_log_list_sorts_by_each_column_both_ways_from_its_headers(client):
    rows = (("bbbb", "next", "kasan", "x86_64", "ltp", Log.Status.DONE, 1, "b.log"),
            ("aaaa", "stable", "defconfig", "arm64", "boot", Log.Status.FAILED, 0, "c.log"),
            ("cccc", "mainline", "rt", "riscv64", "kunit", Log.Status.QUEUED, 2, "a.log"))
    for commit, tree, config, arch, test, status, crashes, filename in rows:
        make_run(commit, status=status, reports=[make_report(f"WARNING in fn_{i}", [f"fn_{i}"]) for i in range(crashes)],
                 tree=tree, config=config, arch=arch, test=test, machine=f"m-{commit}", filename=filename)

    def machines(**params) -> list[str]:
        return re.findall(r"<td>(m-\w+)</td>", client.get("/logs/", params).content.decode())

    columns = {"commit": 0, "tree": 1, "config": 2, "arch": 3, "test": 4, "status": 5, "crashes": 6, "name": 7}
    for sort, at in columns.items():
        expected = [f"m-{row[0]}" for row in sorted(rows, key=lambda row: row[at])]
        assert machines(sort=sort) == expected, sort
        assert machines(sort=f"-{sort}") == expected[::-1], sort
    page = client.get("/logs/", {"arch": "arm64", "sort": "tree"}).content.decode()
    for column in (*columns, "uploaded"):
        assert f'href="?arch=arm64&amp;sort={"-" if column == "tree" else ""}{column}"' in page
