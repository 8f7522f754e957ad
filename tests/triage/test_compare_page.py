"""The comparison page and API: fail:runs per stat key and cluster, buckets, the robot's table, query count."""

from __future__ import annotations

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import shared_path
from tests.triage.factories import make_report, make_run
from triage.comparisons import compare_runs
from triage.models import Crash, Log

pytestmark = pytest.mark.django_db

BASE = "cb588b24f0fcf515aaaaaaaaaaaaaaaaaaaaaaaa"
TARGET = "eaf065b089545219e27e529e3d6bbbbbbbbbbbbb"


def runs(commit: str, n: int, failing: dict[str, int] | None = None, reports: dict[str, int] | None = None,
         **meta: str) -> list[Log]:
    """`n` runs of `commit`; the first `failing[key]` runs show stat key `key`, the first
    `reports[title]` runs a crash titled `title` (filed into its cluster)."""
    out = []
    for i in range(n):
        keys = [k for k, f in (failing or {}).items() if i < f]
        crashes = [make_report(t, (t.split()[-1], "worker_thread")) for t, f in (reports or {}).items() if i < f]
        out.append(make_run(commit, stat_keys=keys, reports=crashes, **meta))
    return out


def pre_block(page: str) -> str:
    return html.unescape(re.search(r'<pre class="robot"[^>]*>(.*?)</pre>', page, re.S).group(1))


def test_0_of_300_base_runs_vs_17_of_300_target_runs_is_6_percent_and_a_regression(client):
    key = "dmesg.BUG:KASAN:stack-out-of-bounds_in_vsnprintf"
    runs(BASE, 300)
    runs(TARGET, 300, {key: 17})
    page = client.get(f"/compare/?base_commit={BASE}&target_commit={TARGET}").content.decode()
    table = pre_block(page).splitlines()
    assert table[0] == "cb588b24f0fcf515 eaf065b089545219e27e529e3d6"
    assert table[2] == "       fail:runs  %reproduction    fail:runs"
    assert table[3] == "           |             |             |"
    assert table[4] == f"           :300          6%          17:300   {key}"
    assert page.index("Regression") < page.index(key)


def test_robot_table_matches_the_report_quoted_in_the_lkp_readme(client):
    readme = shared_path("corpus", "lkp", "README.md").read_text()
    quoted = re.search(r"```\n(\S+ \S+\n-+ -+\n.*?)```", readme, re.S).group(1)
    rows = re.findall(r"^ +(\d*):(\d+) +-?\d+% +(\d*):(\d+) +(\S+)$", quoted, re.M)
    assert rows
    runs0, runs1 = int(rows[0][1]), int(rows[0][3])
    base, target = quoted.split()[:2]
    runs(base, runs0, {key: int(f0 or 0) for f0, _, _, _, key in rows})
    runs(target, runs1, {key: int(f1 or 0) for _, _, f1, _, key in rows})
    page = client.get(f"/compare/?base_commit={base}&target_commit={target}").content.decode()
    assert pre_block(page) == quoted


def test_buckets_come_regressions_first_and_rows_link_their_cluster_and_an_example(client):
    runs("A", 20, reports={"WARNING in fixed_it": 15, "WARNING in always": 20, "WARNING in rare": 1,
                           "WARNING in gone": 2})
    runs("B", 20, reports={"WARNING in regressed": 15, "WARNING in always": 19, "WARNING in rare": 2})
    result = compare_runs({"commit": "A"}, {"commit": "B"})
    buckets = {row.key: row.change.bucket for row in result.rows}
    assert buckets == {"WARNING in regressed": "regression", "WARNING in fixed_it": "fixed",
                       "WARNING in rare": "flaky", "WARNING in always": "still failing",
                       "WARNING in gone": "new pass"}
    page = client.get("/compare/?base_commit=A&target_commit=B").content.decode()
    order = [page.index(f">{name} (") for name in ("Regression", "Possible regression", "Fixed", "Possible fix",
                                                   "Still failing")]
    assert order == sorted(order)
    regressed = next(r for r in result.rows if r.key == "WARNING in regressed")
    example = Crash.objects.get(pk=regressed.example_crash_id)
    assert example.cluster_id == regressed.cluster_id and example.log.commit == "B"
    assert f'href="/clusters/{regressed.cluster_id}/"' in page and f'href="/crashes/{example.pk}/"' in page


def test_a_doubtful_row_says_how_many_more_runs_would_settle_it(client):
    runs("A", 10)
    runs("B", 10, {"dmesg.WARNING:at_foo": 2})
    row = client.get("/api/compare/?base_commit=A&target_commit=B").json()["rows"][0]
    assert row["bucket"] == "flaky" and not row["significant"]
    assert row["runs_to_settle"] > 0
    assert (row["fail0"], row["runs0"], row["fail1"], row["runs1"]) == (0, 10, 2, 10)


def test_stat_key_rows_link_to_the_cluster_seen_in_the_same_runs():
    key = "dmesg.WARNING:at_drivers/foo.c:#foo_probe"
    for log in runs("B", 3, {key: 3}, {"WARNING in foo_probe": 3}):
        assert log.crashes.count() == 1
    runs("A", 3)
    row = next(r for r in compare_runs({"commit": "A"}, {"commit": "B"}).rows if r.kind == "stat")
    assert row.key == key and row.cluster_title == "WARNING in foo_probe" and row.example_crash_id


def test_robot_arithmetic_divides_both_sides_by_the_base_runs(client):
    runs("A", 100)
    runs("B", 200, {"dmesg.Oops": 20})
    correct = client.get("/api/compare/?base_commit=A&target_commit=B").json()
    robot = client.get("/api/compare/?base_commit=A&target_commit=B&robot=1").json()
    assert correct["rows"][0]["change"] == 10.0 and robot["rows"][0]["change"] == 20.0
    assert "        20% " in robot["table"] and "        10% " in correct["table"]
    page = client.get("/compare/?base_commit=A&target_commit=B&robot=1").content.decode()
    assert "20%" in pre_block(page)


def test_runs_without_crashes_count_and_unfinished_logs_do_not():
    runs("A", 4)
    runs("B", 3, {"dmesg.Oops": 1})
    make_run("B", status=Log.Status.QUEUED)
    make_run("B", status=Log.Status.FAILED)
    result = compare_runs({"commit": "A"}, {"commit": "B"})
    assert (result.runs0, result.runs1) == (4, 3)


def test_any_metadata_selects_a_side_and_unprefixed_selectors_apply_to_both():
    runs("A", 5, {"dmesg.Oops": 5}, config="kasan")
    runs("A", 5, config="defconfig")
    runs("A", 7, {"dmesg.Oops": 1}, config="kasan", machine="m2")
    by_config = compare_runs({"commit": "A", "config": "defconfig"}, {"commit": "A", "config": "kasan"})
    assert (by_config.runs0, by_config.runs1, by_config.rows[0].change.fail1) == (5, 12, 6)
    from triage.comparisons import side_filters

    params = {"base_machine": "m2", "target_machine": "", "config": "kasan", "commit": "A"}
    assert side_filters(params, "base") == {"commit": "A", "config": "kasan", "machine": "m2"}
    assert side_filters(params, "target") == {"commit": "A", "config": "kasan"}


def test_counting_takes_the_same_few_queries_for_10_or_60_runs(client, django_assert_max_num_queries):
    url = "/compare/?base_commit=A&target_commit=B"
    client.get(url)  # the commit picker's suggestions are cached after the first page
    counts = []
    for n in (5, 30):
        runs("A", n, {"dmesg.Oops": 1}, {"WARNING in a": 2, "WARNING in b": 1})
        runs("B", n, {"dmesg.Oops": 3, "dmesg.BUG": 2}, {"WARNING in a": 3, f"WARNING in c{n}": 2})
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    with django_assert_max_num_queries(10):
        client.get(url)
    with django_assert_max_num_queries(10):
        client.get(url.replace("/compare/", "/api/compare/"))


def test_the_page_without_two_sides_shows_the_form_and_the_api_says_what_is_missing(client):
    page = client.get("/compare/").content.decode()
    assert 'name="base_commit"' in page and "robot" in page
    response = client.get("/api/compare/?base_commit=A")
    assert response.status_code == 400 and "target_" in response.json()["error"]


def test_merged_clusters_count_as_one_row():
    from triage import clusters as filing

    runs("A", 4)
    logs = runs("B", 4, reports={"WARNING in read_side": 2})
    more = runs("B", 2, reports={"WARNING in write_side": 2})
    filing.merge(more[0].crashes.get().cluster_id, logs[0].crashes.get().cluster_id)
    rows = [r for r in compare_runs({"commit": "A"}, {"commit": "B"}).rows if r.kind == "cluster"]
    assert len(rows) == 1 and rows[0].change.fail1 == 4 and rows[0].change.runs1 == 6


def test_a_side_without_runs_says_so_and_shows_no_table(client):
    runs("A", 3, {"dmesg.Oops": 1})
    for url in ("/compare/?base_commit=nothing&target_commit=A", "/compare/?base_commit=A&target_commit=nothing",
                "/compare/?base_commit=x&target_commit=y&robot=1"):
        assert client.get(url).status_code == 200
        data = client.get(url.replace("/compare/", "/api/compare/")).json()
        assert data["rows"] == [] and data["table"] == "" and data["problems"]
    page = client.get("/compare/?base_commit=A&target_commit=cb588b").content.decode()
    assert ("No analysed runs match target commit cb588b (commits are matched by 7+ hex digits)" in page)
    assert "compare-rows" not in page and '<pre class="robot"' not in page and "Not comparable" not in page
    page = client.get("/compare/?base_commit=a1b2c3d4&target_commit=A").content.decode()
    assert "No analysed runs match base commit a1b2c3d4" in page and "%" not in page.split("</form>")[1].split(
        "JSON:")[0]


def test_an_abbreviated_commit_compares_as_the_same_commit_as_its_full_hash(client):
    # the README's curl example uploads a 13-character prefix; people paste the full hash
    runs("eaf065b089545", 4, {"dmesg.Oops": 2})
    runs("cb588b24f0fcf515", 4)
    result = compare_runs({"commit": BASE}, {"commit": TARGET})
    assert (result.runs0, result.runs1) == (4, 4)
    assert compare_runs({"commit": "cb588b2"}, {"commit": "eaf065b0"}).runs1 == 4
    page = client.get("/compare/").content.decode()
    assert '<option value="eaf065b089545" label="-/- · 4 runs' in page


def test_a_prefix_matching_two_commits_is_flagged(client):
    runs("abcdef1000", 1)
    runs("abcdef1999", 1)
    runs("B", 1)
    page = client.get("/compare/?base_commit=abcdef1&target_commit=B").content.decode()
    assert "The base commit matches 2 different commits: abcdef1000, abcdef1999" in page
    assert "compare-rows" not in page and '<pre class="robot"' not in page  # not over both merged
    data = client.get("/api/compare/?base_commit=abcdef1&target_commit=B").json()
    assert data["rows"] == [] and "matches 2 different commits" in data["problems"][0]
    assert "<table" in client.get("/compare/?base_commit=abcdef1999&target_commit=B").content.decode()


def test_a_failure_in_a_job_the_other_side_never_ran_is_not_comparable(client):
    runs("A", 12, test="boot")
    runs("B", 1, {"dmesg.WARNING:at_foo": 1}, test="ltp")
    result = compare_runs({"commit": "A"}, {"commit": "B"})
    row = result.rows[0]
    assert row.verdict == "not comparable" and row.missing_side == "base"
    page = client.get("/compare/?base_commit=A&target_commit=B").content.decode()
    assert "Not comparable (1)" in page and "Flaky" not in page
    assert "The two sides ran different jobs" in page and "only the base ran test <b>boot</b>" in page


def test_many_jobs_only_one_side_ran_are_listed_ten_then_folded(client):
    runs("A", 1, test="boot")
    runs("B", 1, test="boot")
    for i in range(13):
        runs("A", 1, test=f"ltp-{i:02d}")
    page = client.get("/compare/?base_commit=A&target_commit=B").content.decode()
    shown, folded = page.split("<details>")[0], page.split("<details>")[1].split("</details>")[0]
    assert shown.count("only the base ran test") == 10 and folded.count("only the base ran test") == 3
    assert "<summary>3 more jobs only one side ran</summary>" in folded


def test_a_doubtful_rise_is_a_possible_regression_with_the_runs_to_tell(client):
    runs("A", 10, test="boot")
    runs("B", 10, {"dmesg.WARNING:at_foo": 2}, test="boot")
    row = compare_runs({"commit": "A"}, {"commit": "B"}).rows[0]
    assert row.verdict == "possible regression"
    assert row.verdict_detail == f"{row.change.runs_to_settle} more runs on each side to tell"
    page = client.get("/compare/?base_commit=A&target_commit=B").content.decode()
    assert "Possible regression (1)" in page and "more runs on each side to tell" in page
    assert "The two sides ran different jobs" not in page


def test_rows_are_sorted_by_the_size_of_the_change(client):
    runs("A", 20, test="t")
    runs("B", 20, {"dmesg.small": 1, "dmesg.big": 4, "dmesg.mid": 2}, test="t")
    page = client.get("/compare/?base_commit=A&target_commit=B").content.decode()
    assert page.index("dmesg.big") < page.index("dmesg.mid") < page.index("dmesg.small")


def test_a_busy_bucket_shows_its_biggest_changes_and_links_to_all_of_them(client):
    from triage.views import compare as view

    keys = {f"dmesg.WARNING:at_k{i:02d}": 1 + i % 3 for i in range(view.ROWS_SHOWN + 5)}
    runs("A", 20, test="t")
    runs("B", 20, keys, test="t")
    page = client.get("/compare/?base_commit=A&target_commit=B").content.decode()
    shown = re.findall(r"<code>(dmesg\.WARNING:at_k\d+)</code>", page.split("The robot's table")[0])
    assert len(shown) == view.ROWS_SHOWN
    assert min(keys[k] for k in shown) >= max(keys[k] for k in keys if k not in shown)  # the biggest first
    assert f"Possible regression ({len(keys)})" in page
    link = re.search(r'href="\?([^"]*show=possible\+regression[^"]*)"', page).group(1)
    everything = client.get(f"/compare/?{html.unescape(link)}").content.decode()
    assert len(re.findall(r"<code>(dmesg\.WARNING:at_k\d+)</code>", everything.split("The robot's table")[0])) == len(keys)


def test_the_page_links_the_stat_rows_it_shows_to_their_cluster(client):
    key = "dmesg.WARNING:at_drivers/foo.c:#foo_probe"
    runs("B", 3, {key: 3}, {"WARNING in foo_probe": 3})
    runs("A", 3)
    cluster = Crash.objects.filter(log__commit="B").first().cluster
    page = client.get("/compare/?base_commit=A&target_commit=B").content.decode()
    row = page[page.index(f"<code>{key}</code>"):].split("</tr>")[0]
    assert f'href="/clusters/{cluster.pk}/"' in row and 'href="/crashes/' in row


def test_sides_without_a_common_job_have_no_regression_fixed_or_still_failing_rows(client):
    # the audit's case: the target ran lkdtm only, the base boot only; both show the boot failure
    runs("A", 44, {"dmesg.boot_failures": 44}, {"WARNING in lkdtm_WARNING": 1}, test="boot", config="defconfig")
    runs("B", 13, {"dmesg.boot_failures": 13}, {"WARNING in lkdtm_WARNING": 10}, test="lkdtm", config="kasan")
    result = compare_runs({"commit": "A"}, {"commit": "B"})
    assert result.nothing_comparable and result.common_jobs == []
    assert {r.verdict for r in result.rows} == {"not comparable"}
    warning = next(r for r in result.rows if r.kind == "cluster")
    assert (warning.change.fail0, warning.change.runs0, warning.change.fail1, warning.change.runs1) == (1, 44, 10, 13)
    assert warning.missing_side == "either"
    page = client.get("/compare/?base_commit=A&target_commit=B").content.decode()
    assert "Nothing can be compared" in page and "ran no job (test, config, arch) in common" in page
    for bucket in ("Regression (", "Fixed (", "Still failing (", "Flaky ("):
        assert bucket not in page
    assert "Not comparable (2)" in page and "6.9e-08" not in page
    assert "The robot's table (whole sides)" in page and "44:44           0%          13:13" in pre_block(page)
    data = client.get("/api/compare/?base_commit=A&target_commit=B").json()
    assert data["nothing_comparable"] and data["common_jobs"] == []
    assert {r["verdict"] for r in data["rows"]} == {"not comparable"}
    assert all(r["p_value"] is None and r["change"] is None for r in data["rows"])


def test_with_partly_common_jobs_a_row_counts_only_the_runs_of_the_jobs_both_ran(client):
    runs("A", 10, {"dmesg.Oops": 1}, test="boot")
    runs("A", 3, test="ltp")
    runs("A", 5, {"dmesg.only_base_job": 5}, test="kselftest")
    runs("B", 6, {"dmesg.Oops": 6}, test="boot")
    runs("B", 3, test="ltp")
    runs("B", 20, {"dmesg.Oops": 20, "dmesg.only_target_job": 4}, test="lkdtm")  # not a job of the base
    result = compare_runs({"commit": "A"}, {"commit": "B"})
    assert [j[0] for j in result.common_jobs] == ["boot", "ltp"]
    assert (result.runs0, result.runs1, result.compared0, result.compared1) == (18, 29, 13, 9)
    rows = {r.key: r for r in result.rows}
    oops = rows["dmesg.Oops"].change
    assert (oops.fail0, oops.runs0, oops.fail1, oops.runs1) == (1, 13, 6, 9)
    assert rows["dmesg.Oops"].verdict == "regression"
    for key, missing in (("dmesg.only_base_job", "target"), ("dmesg.only_target_job", "base")):
        assert rows[key].verdict == "not comparable" and rows[key].missing_side == missing
    assert (rows["dmesg.only_target_job"].change.fail1, rows["dmesg.only_target_job"].change.runs1) == (4, 20)
    page = client.get("/compare/?base_commit=A&target_commit=B").content.decode()
    assert "compared over the 13 base and 9 target runs of the 2 jobs both ran" in page
    assert "26:29" in pre_block(page) and "1:18" in pre_block(page)  # the robot's table: whole sides
    data = client.get("/api/compare/?base_commit=A&target_commit=B").json()
    assert (data["compared_runs0"], data["compared_runs1"]) == (13, 9)
    assert data["common_jobs"][0] == {"test": "boot", "config": "", "arch": "", "runs0": 10, "runs1": 6}
    row = next(r for r in data["rows"] if r["key"] == "dmesg.Oops")
    assert (row["fail0"], row["runs0"], row["fail1"], row["runs1"]) == (1, 13, 6, 9)


def test_sides_selecting_different_configs_compare_the_configs_in_the_same_tests():
    runs("A", 10, test="boot", config="defconfig")
    runs("A", 10, {"dmesg.Oops": 9}, test="boot", config="kasan")
    runs("A", 4, {"dmesg.Oops": 4}, test="ltp", config="kasan")  # no defconfig run of ltp
    result = compare_runs({"commit": "A", "config": "defconfig"}, {"commit": "A", "config": "kasan"})
    assert result.common_jobs == [("boot", "*", "")]
    oops = result.rows[0].change
    assert (oops.fail0, oops.runs0, oops.fail1, oops.runs1) == (0, 10, 9, 10) and result.rows[0].verdict == "regression"


def test_a_rate_bar_has_a_tooltip_and_the_p_value_does_not_wrap(client):
    runs("A", 20, test="t")
    runs("B", 20, {"dmesg.Oops": 15}, test="t")
    page = client.get("/compare/?base_commit=A&target_commit=B").content.decode()
    assert "<title>base 0:20 (0%), target 15:20 (75%)</title>" in page
    assert re.search(r'<td class="num" style="white-space: nowrap">[0-9.e-]+ \*</td>', page)


def test_a_stat_key_links_its_own_cluster_not_the_big_one_failing_in_every_run():
    key = "dmesg.WARNING:at_kernel/locking/lockdep.c:#__lock_acquire"
    # the panic fails in every run (and was filed first), the lockdep warning and its key in 3 of B's
    runs("A", 10, {}, {"panic in every_run": 10})
    runs("B", 10, {key: 3}, {"WARNING: possible circular locking dependency detected": 3, "panic in every_run": 10})
    row = next(r for r in compare_runs({"commit": "A"}, {"commit": "B"}).rows if r.key == key)
    assert row.cluster_title == "WARNING: possible circular locking dependency detected"
    assert Crash.objects.get(pk=row.example_crash_id).cluster_id == row.cluster_id


def test_a_stat_key_links_the_cluster_whose_function_it_names_among_clusters_of_the_same_runs():
    runs("A", 2)
    # every run has both reports: their runs alone cannot tell which cluster the key belongs to
    runs("B", 2, {"dmesg.BUG:KASAN:use-after-free_in_foo_bar": 2, "dmesg.WARNING:at_foo": 2},
         {"WARNING in foo": 2, "KASAN: use-after-free Read in foo_bar": 2})
    rows = {r.key: r for r in compare_runs({"commit": "A"}, {"commit": "B"}).rows}
    assert rows["dmesg.BUG:KASAN:use-after-free_in_foo_bar"].cluster_title == "KASAN: use-after-free Read in foo_bar"
    assert rows["dmesg.WARNING:at_foo"].cluster_title == "WARNING in foo"
