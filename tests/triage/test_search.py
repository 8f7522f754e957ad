"""The search page finds clusters, crashes by any frame function, stat keys and logs; says when nothing."""

from __future__ import annotations

import pytest

from tests.conftest import fixture_log
from tests.triage.factories import make_crash, make_log, make_report, make_run
from triage.models import Crash
from triage.search import crash_search_text
from workers.tasks import analyze_log

pytestmark = pytest.mark.django_db


def test_a_function_deep_in_the_trace_finds_the_crash_and_links_it(client):
    log = make_log(b"x", commit="c0ffee")
    crash = make_crash(log, make_report("BUG: unable to handle page fault in foo_bar",
                                        functions=["foo_bar", "ksys_write", "vfs_write", "do_syscall_64"]))
    make_crash(make_log(b"y", commit="c0ffef"), make_report("WARNING in other_thing", functions=["other_thing"]))
    page = client.get("/search/", {"q": "vfs_write"}).content.decode()
    assert f'href="/crashes/{crash.pk}/"' in page
    assert "other_thing" not in page
    assert "Crashes <span class=\"muted\">(1)" in page


def test_decoded_inline_functions_and_files_are_searchable():
    report = make_report("BUG in a", functions=["a"]).to_dict()
    decoded = {"frames": [{"function": "a", "source": "mm/slub.c:10",
                           "locations": [{"function": "inlined_helper", "file": "mm/slub.c", "line": 10}]}]}
    text = crash_search_text(report, decoded)
    assert "inlined_helper" in text.split() and "mm/slub.c" in text.split()


def test_analysis_fills_the_search_text_from_the_parsed_frames(client):
    log = make_log(fixture_log("x86_64-READ_AFTER_FREE.log"), "uaf.log", commit="0123456789abcdef")
    analyze_log(log.pk)
    crash = Crash.objects.get(log=log, index=0)
    function = crash.report["frames"][-1]["function"]
    assert function in crash.search_text.split()
    assert f'/crashes/{crash.pk}/' in client.get("/search/", {"q": function}).content.decode()


def test_logs_by_commit_prefix_run_id_and_file_name(client):
    log = make_log(b"x", "serial-0042.txt", commit="eaf065b089545abcdef", run_id="run-77")
    for q in ("eaf065b", "run-77", "serial-0042"):
        assert f'href="/logs/{log.pk}/"' in client.get("/search/", {"q": q}).content.decode(), q


def test_clusters_by_alternative_title_and_stat_keys(client):
    log = make_run("abc", stat_keys=["dmesg.BUG:KASAN:use-after-free_in_foo"],
                   reports=[make_report("KASAN: use-after-free Read in foo", ["foo"],
                                        alt_titles=["KASAN: use-after-free in foo_alt"])])
    crash = Crash.objects.get(log=log)
    page = client.get("/search/", {"q": "foo_alt"}).content.decode()
    assert f'href="/clusters/{crash.cluster_id}/"' in page
    page = client.get("/search/", {"q": "use-after-free_in_foo"}).content.decode()
    assert "dmesg.BUG:KASAN:use-after-free_in_foo" in page and "1 run<" in page


def test_no_results_says_so(client):
    page = client.get("/search/", {"q": "nothing_like_this"}).content.decode()
    assert "No results for <b>nothing_like_this</b>" in page
    assert "No clusters yet" not in page


def test_many_crashes_are_counted_and_the_newest_shown(client, monkeypatch):
    monkeypatch.setattr("triage.search.SHOWN", 2)
    log = make_log(b"x", commit="c0ffee")
    crashes = [make_crash(log, make_report(f"WARNING in f{i}", functions=[f"f{i}", "vfs_write"]), index=i)
               for i in range(3)]
    page = client.get("/search/", {"q": "VFS_write"}).content.decode()
    assert "Crashes <span class=\"muted\">(3, the newest 2 shown)" in page
    assert f'href="/crashes/{crashes[2].pk}/"' in page and f'href="/crashes/{crashes[0].pk}/"' not in page


def test_an_underscore_is_not_any_character(client):
    """The index looks words up with '_' spelt '0'; the rows it finds are checked as typed."""
    make_crash(make_log(b"x", commit="c0ffee"), make_report("WARNING in vfs_write", functions=["vfs_write"]))
    for q in ("vfs0write", "vfsXwrite"):
        assert "No results for" in client.get("/search/", {"q": q}).content.decode(), q


def test_past_the_count_cap_the_newest_matches_are_still_the_ones_shown(client, monkeypatch):
    """A common word is counted up to the cap and its newest crashes found walking back from the newest."""
    monkeypatch.setattr("triage.search.SHOWN", 2)
    monkeypatch.setattr("triage.search.COUNT_CAP", 3)
    log = make_log(b"x", commit="c0ffee")
    crashes = [make_crash(log, make_report(f"WARNING in f{i}", functions=[f"f{i}", "vfs_write"]), index=i)
               for i in range(5)]
    make_crash(log, make_report("WARNING in other", functions=["other"]), index=5)
    page = client.get("/search/", {"q": "vfs_write"}).content.decode()
    assert "Crashes <span class=\"muted\">(3+, the newest 2 shown)" in page
    shown = [c.pk for c in crashes if f'href="/crashes/{c.pk}/"' in page]
    assert shown == [crashes[3].pk, crashes[4].pk]


def test_a_frame_pasted_as_printed_finds_its_crash_and_the_list_shows_every_match(client, monkeypatch):
    monkeypatch.setattr("triage.search.SHOWN", 1)
    log = make_log(b"x", commit="c0ffee")
    crashes = [make_crash(log, make_report(f"WARNING in f{i}", functions=[f"f{i}", "vfs_write"]), index=i)
               for i in range(2)]
    page = client.get("/search/", {"q": "? vfs_write+0x1c6/0x230 [ext4]".replace(" [ext4]", "")}).content.decode()
    assert "Crashes <span class=\"muted\">(2, the newest 1 shown)" in page
    assert 'href="/crashes/?q=%3F%20vfs_write%2B0x1c6/0x230">All of them in the crashes list' in page
    listed = client.get("/crashes/", {"q": "? vfs_write+0x1c6/0x230"}).content.decode()
    assert all(f'href="/crashes/{c.pk}/"' in listed for c in crashes)
    by_kind = client.get("/crashes/", {"q": "f0", "kind": "bug"}).content.decode()  # kinds in any case
    assert f'href="/crashes/{crashes[0].pk}/"' in by_kind and f'href="/crashes/{crashes[1].pk}/"' not in by_kind
