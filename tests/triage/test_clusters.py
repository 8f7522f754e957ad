"""Clusters in the database: the engine's filing rules, people's merges/splits/renames, the cluster page."""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.conftest import fixture_log, shared_path
from tests.triage.factories import make_log, make_report, make_run, make_triager, make_user
from triage import clusters as filing
from triage.models import Cluster, ClusterEvent, ClusterTitle, Crash, Log
from workers.tasks import analyze_log

pytestmark = pytest.mark.django_db

KASAN_READ = ("lkdtm_READ_AFTER_FREE", "lkdtm_do_action", "direct_entry", "full_proxy_write", "vfs_write")
KASAN_WRITE = ("lkdtm_WRITE_AFTER_FREE", "lkdtm_do_action", "direct_entry", "full_proxy_write", "vfs_write")
GPF = ("ext4_readdir", "iterate_dir", "__x64_sys_getdents64", "do_syscall_64")


def cluster_of(log: Log, index: int = 0) -> Cluster:
    return Crash.objects.select_related("cluster").get(log=log, index=index).cluster


# --- filing ---------------------------------------------------------------------------------------


def test_same_fixture_log_on_two_commits_lands_in_one_cluster_and_different_crashes_do_not():
    uaf1 = make_log(fixture_log("x86_64-READ_AFTER_FREE.log"), commit="c1")
    uaf2 = make_log(fixture_log("x86_64-READ_AFTER_FREE.log"), commit="c2")
    warn = make_log(fixture_log("x86_64-WARNING.log"), commit="c1")
    for log in (uaf1, uaf2, warn):
        analyze_log(log.pk)
    assert cluster_of(uaf1) == cluster_of(uaf2)
    assert cluster_of(warn) != cluster_of(uaf1)
    assert cluster_of(uaf1).crash_count == 2


def test_titles_differing_only_in_cpu_pid_line_and_offsets_share_a_cluster():
    a = make_run("c1", reports=[make_report("WARNING: CPU: 1 PID: 50 at fs/inode.c:112 iput+0x1a/0x30")])
    b = make_run("c1", reports=[make_report("WARNING: CPU: 3 PID: 977 at fs/inode.c:112 iput+0x2c/0x40")])
    c = make_run("c1", reports=[make_report("WARNING: CPU: 3 PID: 977 at fs/inode.c:112 evict+0x2c/0x40")])
    assert cluster_of(a) == cluster_of(b) != cluster_of(c)


def test_a_crash_joins_the_cluster_owning_one_of_its_alternative_titles():
    first = make_run("c1", reports=[make_report("general protection fault in ext4_readdir")])
    second = make_run("c1", reports=[make_report("KASAN: use-after-free Read in iterate_dir",
                                                 alt_titles=["general protection fault in ext4_readdir",
                                                             "BUG: unable to handle page fault in iterate_dir"])])
    assert cluster_of(second) == cluster_of(first)
    # and its own title now files later crashes there too
    third = make_run("c2", reports=[make_report("KASAN: use-after-free Read in iterate_dir")])
    assert cluster_of(third) == cluster_of(first)
    sources = dict(ClusterTitle.objects.values_list("title", "source"))
    assert sources["KASAN: use-after-free Read in iterate_dir"] == "title"
    assert sources["BUG: unable to handle page fault in iterate_dir"] == "alt"


def test_corrupted_reports_are_filed_apart_from_real_ones_and_only_nameless_ones_share_the_bucket():
    real = make_run("c1", reports=[make_report("BUG: unable to handle page fault in foo")])
    bad1 = make_run("c1", reports=[make_report("BUG: unable to handle page fault in foo", corrupted=True)])
    bad1_again = make_run("c4", reports=[make_report("BUG: unable to handle page fault in foo", corrupted=True)])
    bad2 = make_run("c2", reports=[make_report("WARNING in bar", corrupted=True)])
    nameless1 = make_run("c5", reports=[make_report("kernel panic: Fatal exception", corrupted=True)])
    nameless2 = make_run("c6", reports=[make_report("BUG: unable to handle kernel paging request in corrupted",
                                                    corrupted=True)])
    assert len({cluster_of(real), cluster_of(bad1), cluster_of(bad2), cluster_of(nameless1)}) == 4
    assert cluster_of(bad1) == cluster_of(bad1_again)
    assert cluster_of(nameless1) == cluster_of(nameless2) and cluster_of(nameless1).corrupted
    assert not cluster_of(real).corrupted and not cluster_of(bad1).corrupted
    assert Cluster.objects.filter(corrupted=True).count() == 1
    later = make_run("c3", reports=[make_report("BUG: unable to handle page fault in foo")])
    assert cluster_of(later) == cluster_of(real)


def test_cluster_keeps_the_guilty_frame_and_frame_signature_of_its_first_crash():
    log = make_run("c1", reports=[make_report("KASAN: slab-use-after-free Read in lkdtm_READ_AFTER_FREE",
                                              KASAN_READ, kind="KASAN")])
    cluster = cluster_of(log)
    assert cluster.guilty_function == "lkdtm_READ_AFTER_FREE"
    assert cluster.signature[:2] == ["lkdtm_READ_AFTER_FREE", "lkdtm_do_action"]


@pytest.mark.django_db(transaction=True)
def test_workers_filing_the_same_new_title_at_once_make_one_cluster():
    if connection.vendor != "postgresql":
        pytest.skip("needs a database with concurrent writers: set DATABASE_URL to PostgreSQL")
    logs = [Log.objects.create(fingerprint=f"f{i}", sha256="0", size=0, raw="", status=Log.Status.DONE)
            for i in range(6)]
    crashes = [Crash.objects.create(log=log, index=0, title="BUG: soft lockup in race_me", kind="BUG",
                                    report=make_report("BUG: soft lockup in race_me").to_dict()) for log in logs]
    barrier = threading.Barrier(len(crashes))
    errors: list[BaseException] = []

    def work(crash: Crash) -> None:
        try:
            barrier.wait()
            filing.file_crash(crash)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(c,)) for c in crashes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Cluster.objects.count() == 1
    assert set(Crash.objects.values_list("cluster_id", flat=True)) == {Cluster.objects.get().pk}


@pytest.mark.django_db(transaction=True)
def test_a_merge_beside_workers_filing_into_the_merged_cluster_leaves_no_crash_behind():
    if connection.vendor != "postgresql":
        pytest.skip("needs a database with concurrent writers: set DATABASE_URL to PostgreSQL")
    src = cluster_of(make_run("c0", reports=[make_report("WARNING in racy_src")]))
    dst = cluster_of(make_run("c0", reports=[make_report("WARNING in racy_dst")]))
    started = threading.Event()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for i in range(30):
                with transaction.atomic():  # one analysis: filing, then the rest of its work, then commit
                    log = Log.objects.create(fingerprint=f"race{i}", sha256="0", size=0, raw="",
                                             status=Log.Status.DONE)
                    crash = Crash.objects.create(log=log, index=0, title="WARNING in racy_src",
                                                 report=make_report("WARNING in racy_src").to_dict())
                    filing.file_crash(crash)
                    started.set()
                    time.sleep(0.01)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    def person() -> None:
        try:
            started.wait(5)
            time.sleep(0.05)
            filing.merge(src.pk, dst.pk)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker), threading.Thread(target=person)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Crash.objects.filter(cluster=src).count() == 0
    assert Crash.objects.filter(cluster=dst, title="WARNING in racy_src").count() == 31


@pytest.mark.django_db(transaction=True)
def test_two_workers_filing_into_the_same_clusters_in_opposite_orders_do_not_deadlock():
    if connection.vendor != "postgresql":
        pytest.skip("needs a database with concurrent writers: set DATABASE_URL to PostgreSQL")
    from triage.analysis import refresh_clusters

    x = cluster_of(make_run("c0", reports=[make_report("WARNING in order_x")]))
    y = cluster_of(make_run("c0", reports=[make_report("WARNING in order_y")]))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker(name: str, titles: list[str]) -> None:
        try:
            barrier.wait()
            with transaction.atomic():  # as save_analysis: file each crash, then recount, then commit
                log = Log.objects.create(fingerprint=name, sha256="0", size=0, raw="", status=Log.Status.DONE)
                touched = set()
                for i, title in enumerate(titles):
                    crash = Crash.objects.create(log=log, index=i, title=title, report=make_report(title).to_dict())
                    touched.add(filing.file_crash(crash).pk)
                    time.sleep(0.1)
                refresh_clusters(touched)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=("a", ["WARNING in order_x", "WARNING in order_y"])),
               threading.Thread(target=worker, args=("b", ["WARNING in order_y", "WARNING in order_x"]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [Cluster.objects.get(pk=c.pk).crash_count for c in (x, y)] == [3, 3]


# --- merge, split, rename -------------------------------------------------------------------------


def test_merge_moves_crashes_sticks_for_new_crashes_and_is_recorded():
    read = make_run("c1", reports=[make_report("KASAN: use-after-free Read in f", KASAN_READ)])
    write = make_run("c1", reports=[make_report("KASAN: use-after-free Write in f", KASAN_WRITE)])
    src, dst = cluster_of(write), cluster_of(read)
    user = make_user("alice")
    filing.merge(src.pk, dst.pk, user)
    src.refresh_from_db()
    dst.refresh_from_db()
    assert src.merged_into == dst and dst.crash_count == 2
    assert cluster_of(write) == dst
    later = make_run("c2", reports=[make_report("KASAN: use-after-free Write in f", KASAN_WRITE)])
    assert cluster_of(later) == dst
    event = ClusterEvent.objects.get(cluster=dst)
    assert event.action == "merge" and event.user == user and f"#{src.pk}" in event.detail


def test_reanalysing_old_logs_keeps_the_merge():
    uaf = make_log(fixture_log("x86_64-READ_AFTER_FREE.log"), commit="c1")
    warn = make_log(fixture_log("x86_64-WARNING.log"), commit="c1")
    analyze_log(uaf.pk)
    analyze_log(warn.pk)
    dst = cluster_of(uaf)
    filing.merge(cluster_of(warn).pk, dst.pk, make_user())
    analyze_log(warn.pk)  # a parser upgrade: old logs analysed again
    analyze_log(uaf.pk)
    assert cluster_of(warn) == cluster_of(uaf) == dst
    dst.refresh_from_db()
    assert dst.crash_count == 2


def test_a_crash_renamed_by_a_parser_upgrade_stays_in_its_previous_cluster():
    log = make_run("c1", reports=[make_report("BUG: unable to handle kernel paging request in foo")])
    before = cluster_of(log)
    crash = Crash.objects.create(log=make_run("c1"), index=0, title="BUG: unable to handle page fault in foo",
                                 report=make_report("BUG: unable to handle page fault in foo").to_dict())
    assert filing.file_crash(crash, previous=before.pk) == before
    later = make_run("c2", reports=[make_report("BUG: unable to handle page fault in foo")])
    assert cluster_of(later) == before
    # without a previous cluster a new title opens a new cluster
    other = make_run("c2", reports=[make_report("BUG: unable to handle page fault in bar")])
    assert cluster_of(other) != before


def test_merging_a_cluster_into_the_corrupted_one_or_itself_is_refused():
    real = cluster_of(make_run("c1", reports=[make_report("WARNING in foo")]))
    bad = cluster_of(make_run("c1", reports=[make_report("garbage", corrupted=True)]))
    with pytest.raises(filing.ClusterEditError):
        filing.merge(real.pk, bad.pk)
    with pytest.raises(filing.ClusterEditError):
        filing.merge(real.pk, real.pk)
    assert Cluster.objects.get(pk=real.pk).merged_into is None


def test_split_moves_the_chosen_titles_with_their_crashes_and_new_crashes_follow():
    a = make_run("c1", reports=[make_report("WARNING in foo")])
    b = make_run("c1", reports=[make_report("WARNING in bar")])
    keep, other = cluster_of(a), cluster_of(b)
    filing.merge(other.pk, keep.pk)
    new = filing.split(keep.pk, ["WARNING in bar"], "bar is its own bug", make_user())
    assert new.title == "bar is its own bug"
    assert cluster_of(b) == new and cluster_of(a) == keep
    later = make_run("c2", reports=[make_report("WARNING in bar")])
    assert cluster_of(later) == new
    with pytest.raises(filing.ClusterEditError):
        filing.split(keep.pk, ["WARNING in foo"])  # all of its titles: nothing would stay


def test_rename_changes_the_title_people_read_not_the_matching():
    log = make_run("c1", reports=[make_report("WARNING in foo")])
    cluster = filing.rename(cluster_of(log).pk, "foo warns on unplug", make_user())
    later = make_run("c2", reports=[make_report("WARNING in foo")])
    assert cluster_of(later) == cluster and cluster.title == "foo warns on unplug"
    assert ClusterEvent.objects.get(cluster=cluster).action == "rename"


def test_edits_need_the_triage_permission_and_a_post(client, anon_client):
    a = cluster_of(make_run("c1", reports=[make_report("WARNING in foo")]))
    b = cluster_of(make_run("c1", reports=[make_report("WARNING in bar")]))
    response = anon_client.post(f"/clusters/{b.pk}/merge", {"into": a.pk})
    assert response.status_code == 302 and "/login/" in response.url
    client.force_login(make_user("mallory"))  # an account, but not a triager
    for action in ("merge", "split", "rename"):
        assert client.post(f"/clusters/{b.pk}/{action}", {"into": a.pk, "title": "x"}).status_code == 403
    assert Cluster.objects.get(pk=b.pk).merged_into is None and Cluster.objects.get(pk=b.pk).title != "x"
    client.force_login(make_triager("alice"))
    assert client.get(f"/clusters/{b.pk}/merge").status_code == 405
    response = client.post(f"/clusters/{b.pk}/merge", {"into": a.pk})
    assert response.status_code == 302 and response.url == f"/clusters/{a.pk}/"
    # the merged cluster's page sends people to the survivor
    assert client.get(f"/clusters/{b.pk}/").url == f"/clusters/{a.pk}/"
    client.post(f"/clusters/{a.pk}/rename", {"title": "renamed by alice"})
    assert Cluster.objects.get(pk=a.pk).title == "renamed by alice"
    response = client.post(f"/clusters/{a.pk}/split", {"titles": ["WARNING in bar"], "title": ""})
    new = Cluster.objects.order_by("-pk").first()
    assert response.url == f"/clusters/{new.pk}/" and new.title == "WARNING in bar"
    users = set(ClusterEvent.objects.values_list("user__username", flat=True))
    assert users == {"alice"}
    page = client.get(f"/clusters/{a.pk}/").content.decode()
    assert "merge" in page and "rename" in page and "split" in page  # the history lists them


def test_a_bad_merge_request_says_why(client):
    a = cluster_of(make_run("c1", reports=[make_report("WARNING in foo")]))
    client.force_login(make_triager("alice"))
    response = client.post(f"/clusters/{a.pk}/merge", {"into": "nonsense"}, follow=True)
    assert "which cluster" in response.content.decode()
    response = client.post(f"/clusters/{a.pk}/merge", {"into": a.pk}, follow=True)
    assert "itself" in response.content.decode()


# --- the cluster page -----------------------------------------------------------------------------


def test_cluster_page_shows_where_it_was_seen_its_timeline_newest_first_and_a_chart(client):
    report = make_report("KASAN: use-after-free Read in f", KASAN_READ, kind="KASAN")
    old = make_run("oldcommit", reports=[report], config="kasan", arch="x86_64", machine="vm1", test="lkdtm")
    make_run("oldcommit", config="kasan", arch="x86_64", machine="vm1", test="lkdtm")  # a clean run
    new = [make_run("newcommit", reports=[report], config="kasan", arch="arm64", machine="vm2", test="lkdtm")
           for _ in range(3)]
    Log.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(days=10))
    cluster = cluster_of(old)
    cluster.refresh_stats()
    assert all(cluster_of(log) == cluster for log in new)
    page = client.get(f"/clusters/{cluster.pk}/").content.decode()
    for text in ("oldcommit", "newcommit", "arm64", "x86_64", "vm1", "vm2", "lkdtm", "kasan", "<canvas id=\"per-day\""):
        assert text in page
    assert "1:2" in page and "3:3" in page  # fail:runs: the clean run counts in the denominator
    assert page.index("newcommit") < page.index("oldcommit")
    assert "/compare/?base_commit=oldcommit&amp;target_commit=newcommit" in page
    data = json.loads(re.search(r'<script id="per-day-data" type="application/json">(.*?)</script>', page).group(1))
    assert len([n for n in data["datasets"][0]["data"] if n]) == 2  # two days with crashes
    assert len(data["labels"]) == 11  # the days between them are drawn as zero
    assert "lkdtm_READ_AFTER_FREE" in page  # the guilty frame


def test_cluster_page_groups_commits_by_tree_and_compares_within_a_tree_over_the_jobs_it_was_seen_in(client):
    report = make_report("KASAN: use-after-free Read in f", KASAN_READ, kind="KASAN")
    now = timezone.now()

    def run(commit, tree, days_ago, crash=True, test="lkdtm"):
        log = make_run(commit, reports=[report] if crash else [], tree=tree, branch="master", test=test,
                       config="kasan", arch="x86_64")
        Log.objects.filter(pk=log.pk).update(created=now - timedelta(days=days_ago))
        return log

    first = run("main1", "mainline", 5)
    run("main1", "mainline", 5, crash=False)  # a clean run of the job: counts
    run("main1", "mainline", 5, crash=False, test="boot")  # a run of another test: does not
    run("next1", "linux-next", 3)
    run("main2", "mainline", 2)
    run("main2", "mainline", 2, crash=False, test="boot")
    run("next2", "linux-next", 1)
    cluster = cluster_of(first)
    cluster.refresh_stats()
    page = client.get(f"/clusters/{cluster.pk}/").content.decode()
    assert "runs in the jobs it was seen in" in page
    table = page[page.index("fail:runs per commit"):page.index("<h2>Crashes</h2>")]
    assert table.index("linux-next / master") < table.index("mainline / master")  # the newest commit first
    nxt, main = table.split("mainline / master")
    assert "next2" in nxt and "next1" in nxt and "main" not in nxt.split("</h3>", 1)[1]
    assert "main1" in main and "main2" in main and "next" not in main
    assert "1:2" in main  # main1: the boot run is not a run of the jobs the cluster was seen in
    assert "/compare/?base_commit=next1&amp;target_commit=next2&amp;tree=linux-next&amp;branch=master" in nxt
    assert "/compare/?base_commit=main1&amp;target_commit=main2&amp;tree=mainline&amp;branch=master" in main
    assert "base_commit=main2&amp;target_commit=next1" not in page and "base_commit=next1&amp;target_commit=main2" \
        not in page
    assert len(re.findall(r"/compare/\?", table)) == 2  # the oldest commit of each tree has nothing to compare with


def test_similar_clusters_are_proposed_across_titles_and_unrelated_ones_are_not(client):
    read = cluster_of(make_run("c1", reports=[make_report("KASAN: use-after-free Read in f", KASAN_READ)]))
    write = cluster_of(make_run("c1", reports=[make_report("KASAN: use-after-free Write in g",
                                                           ("lkdtm_READ_AFTER_FREE", *KASAN_WRITE[1:]))]))
    gpf = cluster_of(make_run("c1", reports=[make_report("general protection fault in ext4_readdir", GPF)]))
    found = [c for c, _ in filing.similar_clusters(read)]
    assert write in found and gpf not in found
    page = client.get(f"/clusters/{read.pk}/").content.decode()
    assert "Similar clusters" in page and f"/clusters/{write.pk}/" in page


def test_cluster_page_query_count_does_not_grow_with_crashes(client, django_assert_max_num_queries):
    report = make_report("WARNING in foo", ("foo", "bar", "baz"))
    first = make_run("c0", reports=[report])
    for i in range(30):
        make_run(f"c{i % 7}", reports=[report], machine=f"m{i}")
    with django_assert_max_num_queries(20):  # 2 of them: the logged-in session and its user; 1-2 subsystems
        assert client.get(f"/clusters/{cluster_of(first).pk}/").status_code == 200


def test_cluster_list_search(client):
    make_run("c1", reports=[make_report("WARNING in foo_unplug")])
    make_run("c1", reports=[make_report("BUG: sleeping function called from invalid context in bar")])
    page = client.get("/clusters/?q=unplug").content.decode()
    assert "foo_unplug" in page and "sleeping" not in page


@pytest.mark.corpus
def test_the_app_groups_lab_logs_exactly_as_the_engine_does_and_reruns_land_in_the_same_clusters():
    from workers.cluster import Clusterer
    from workers.parser import parse_log

    paths = sorted(shared_path("corpus", "lab", "logs").glob("*.log"))
    clusterer = Clusterer()
    engine_groups: dict[str, set[tuple[str, int]]] = {}
    for path in paths:
        for i, report in enumerate(parse_log(path.read_bytes()).reports):
            engine_groups.setdefault(clusterer.assign(report), set()).add((path.name, i))
    app_groups: dict[int, set[tuple[str, int]]] = {}
    for commit in ("c1", "c2"):  # the same logs again on another commit: same clusters, counted twice
        for path in paths:
            log = make_log(path.read_bytes(), path.name, commit=commit)
            assert analyze_log(log.pk) == "done"
    for crash in Crash.objects.select_related("log"):
        app_groups.setdefault(crash.cluster_id, set()).add((crash.log.filename, crash.index))
    assert len(engine_groups) >= 10  # many kinds of crash, not one big bucket
    assert sorted(map(sorted, app_groups.values())) == sorted(map(sorted, engine_groups.values()))
    assert all(c.crash_count == 2 * len(app_groups[c.pk]) for c in Cluster.objects.filter(crash_count__gt=0))


@pytest.mark.django_db(transaction=True)
def test_migration_rekeys_old_raw_titles_and_moves_rows_of_merged_clusters():
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("triage", "0001_initial")])
    old = executor.loader.project_state([("triage", "0001_initial")]).apps
    OldCluster, OldTitle = old.get_model("triage", "Cluster"), old.get_model("triage", "ClusterTitle")
    keep = OldCluster.objects.create(title="WARNING in foo")
    gone = OldCluster.objects.create(title="WARNING in bar", merged_into=keep)
    OldTitle.objects.create(title="WARNING: CPU: 1 PID: 5 at foo.c:12 foo+0x1/0x2", cluster=keep)
    OldTitle.objects.create(title="WARNING: CPU: 2 PID: 7 at foo.c:12 foo+0x3/0x4", cluster=keep)
    OldTitle.objects.create(title="WARNING in bar", cluster=gone)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    rows = {t.title: (t.cluster_id, t.source) for t in ClusterTitle.objects.all()}
    assert rows == {"WARNING: CPU: NUM PID: NUM at foo.c:NUM foo": (keep.pk, "title"),
                    "WARNING in bar": (keep.pk, "alias")}


def test_the_corrupted_cluster_page_offers_no_edits(client):
    bad = cluster_of(make_run("c1", reports=[make_report("garbage", corrupted=True)]))
    client.force_login(make_triager("alice"))
    page = client.get(f"/clusters/{bad.pk}/").content.decode()
    assert "corrupted reports" in page and "cluster-merge" not in page and 'name="into"' not in page
    response = client.post(f"/clusters/{bad.pk}/split", {"titles": ["garbage"]}, follow=True)
    assert "cannot be split" in response.content.decode()
