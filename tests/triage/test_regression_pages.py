"""The regression list, a regression's page and its report text, and /api/regressions/."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from tests.conftest import fixture_log
from tests.triage.factories import make_log, make_report, make_run
from tests.workers.test_compare import ROBOT_TABLE
from triage.models import Regression
from triage.regressions import check_job, in_subsystem, job_of
from workers.tasks import analyze_log

pytestmark = pytest.mark.django_db

JOB = {"tree": "linux-next", "branch": "master", "config": "x86_64-rhel-8.3", "arch": "x86_64", "test": "boot"}
BASE, TARGET = "cb588b24f0fcf515a4c0b0a8e3d6", "eaf065b089545219e27e529e3d6a6b1"


@pytest.fixture
def site(settings):
    settings.SITE_URL = "https://triage.example.org"
    settings.TRIAGE_REPORTER = "triage bot <bot@example.org>"


def robot_series() -> Regression:
    """300 clean runs of the base, 300 of the target failing each key of the robot's table as often."""
    wanted = {}
    for line in ROBOT_TABLE.splitlines()[4:]:
        fails_runs, key = line.rsplit("   ", 1)
        wanted[key] = int(fails_runs.split()[-1].split(":")[0])
    target_keys: list[set[str]] = [set() for _ in range(300)]
    for i, (key, n) in enumerate(sorted(wanted.items())):
        for j in range(n):
            target_keys[(i * 37 + j * 7) % 300].add(key)
    first = None
    for i in range(300):
        first = first or make_run(BASE, machine="lkp-skl-d01", **JOB)
        if i:
            make_run(BASE, machine="lkp-skl-d01", **JOB)
    for keys in target_keys:
        make_run(TARGET, stat_keys=keys, machine="lkp-skl-d01", **JOB)
    check_job(job_of(first).pk)
    return Regression.objects.get()


def test_report_text_reproduces_the_robots_table_for_0_of_300_against_17_of_300(client, site):
    reg = robot_series()
    assert reg.state == "confirmed" and reg.first_bad_commit == TARGET and reg.last_good_commit == BASE
    response = client.get(reg.get_absolute_url(), {"format": "text"})
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    text = response.content.decode()
    assert ROBOT_TABLE in text
    assert f"commit: {TARGET}" in text and f"base: {BASE}" in text
    assert "in testcase: boot" in text and "config: x86_64-rhel-8.3" in text and "test machine: lkp-skl-d01" in text
    assert "by running 300 times, we observed the parent keeps clean." in text
    assert "| Reported-by: triage bot <bot@example.org>" in text
    assert f"| Closes: https://triage.example.org/regressions/{reg.pk}/" in text


def test_regression_page_shows_the_report_with_a_copy_button_and_a_decoded_excerpt(client, site):
    for commit, log in (("good", "x86_64-boot.log"), ("bad", "x86_64-BUG.log")):
        analyze_log(make_log(fixture_log(log), commit=commit, **JOB).pk)
    check_job(job_of(make_run("unused", **JOB)).pk)
    reg = Regression.objects.get()
    page = client.get(reg.get_absolute_url()).content.decode()
    assert 'class="copy" data-copy="report-text"' in page and 'id="report-text"' in page
    text = client.get(reg.get_absolute_url(), {"format": "text"}).content.decode()
    assert f'noticed "{reg.title}" on:' in text
    assert "Code: " in text and "All code" in text  # the Code: line and decodecode's block
    assert "https://triage.example.org/crashes/" in text


def test_regression_list_filters_by_job_fields_and_state(client, site):
    make_run("a", **JOB)
    make_run("b", reports=[make_report("BUG: one")], **JOB)
    other = {**JOB, "arch": "arm64"}
    make_run("a", **other)
    log = make_run("b", reports=[make_report("BUG: two")], **other)
    for j in (job_of(log), job_of(make_run("a", **JOB))):
        check_job(j.pk)
    page = client.get("/regressions/").content.decode()
    assert "BUG: one" in page and "BUG: two" in page
    page = client.get("/regressions/", {"arch": "arm64"}).content.decode()
    assert "BUG: one" not in page and "BUG: two" in page
    assert "BUG: two" not in client.get("/regressions/", {"state": "confirmed"}).content.decode()


def test_api_lists_regressions_with_the_contract_fields(client, site):
    make_run("a", **JOB)
    check_job(job_of(make_run("b", reports=[make_report("BUG: one")], **JOB)).pk)
    (item,) = client.get("/api/regressions/").json()["results"]
    assert {k: item[k] for k in ("title", "state", "first_bad_commit", "last_good_commit", *JOB)} == {
        "title": "BUG: one", "state": "suspected", "first_bad_commit": "b", "last_good_commit": "a", **JOB}
    assert item["url"] == f"http://testserver/regressions/{item['id']}/"
    text = client.get(item["url"], {"format": "text"})
    assert text["Content-Type"].startswith("text/plain") and "BUG: one" in text.content.decode()


def test_without_site_url_the_page_links_to_the_address_it_was_asked_by(client, settings):
    settings.SITE_URL = ""
    make_run("a", **JOB)
    check_job(job_of(make_run("b", reports=[make_report("BUG: one")], **JOB)).pk)
    reg = Regression.objects.get()
    text = client.get(reg.get_absolute_url(), {"format": "text"}).content.decode()
    assert f"| Closes: http://testserver/regressions/{reg.pk}/" in text


def test_api_filters_regressions_by_job_fields_and_state_and_refuses_unknown_ones(client, site):
    make_run("a", **JOB)
    check_job(job_of(make_run("b", reports=[make_report("BUG: one")], **JOB)).pk)
    assert len(client.get("/api/regressions/", {"arch": "x86_64", "state": "suspected"}).json()["results"]) == 1
    assert client.get("/api/regressions/", {"arch": "arm64"}).json()["results"] == []
    assert client.get("/api/regressions/", {"state": "bogus"}).status_code == 400
    assert client.get("/api/regressions/", {"arhc": "x86_64"}).status_code == 400


@pytest.fixture
def three_regressions():
    """mm on commit b (found 2024-03-01), net on c (2024-03-10), one without a subsystem (no MAINTAINERS match) on d (today)."""
    make_run("a", **JOB)
    for commit, title, subsystem in (("b", "BUG: bad page state", "MEMORY MANAGEMENT"),
                                     ("c", "WARNING in tcp_sendmsg", "NETWORKING"), ("d", "BUG: no subsystem known", "")):
        check_job(job_of(make_run(commit, reports=[make_report(title)], subsystem=subsystem, **JOB)).pk)
    Regression.objects.filter(first_bad_commit="b").update(created=datetime(2024, 3, 1, 12, tzinfo=UTC))
    Regression.objects.filter(first_bad_commit="c").update(created=datetime(2024, 3, 10, 12, tzinfo=UTC))
    return {r.first_bad_commit: r for r in Regression.objects.all()}


def listed(client, **params) -> list[str]:
    page = client.get("/regressions/", params).content.decode()
    return re.findall(r'<a href="/regressions/\d+/">([^<]+)</a>', page)


def test_regression_list_filters_by_subsystem_commit_and_found_dates(client, three_regressions):
    assert listed(client, subsystem="NETWORKING") == ["WARNING in tcp_sendmsg"]
    assert listed(client, subsystem="MEMORY MANAGEMENT", arch="x86_64") == ["BUG: bad page state"]
    assert listed(client, subsystem="KASAN") == []
    assert listed(client, commit="c") == ["WARNING in tcp_sendmsg"]
    assert listed(client, since="2024-03-05", before="2024-03-31") == ["WARNING in tcp_sendmsg"]
    assert listed(client, before="2024-03-05") == ["BUG: bad page state"]
    page = client.get("/regressions/", {"subsystem": "KASAN"}).content.decode()
    assert "No regressions match these filters." in page
    assert '<label for="f-subsystem">subsystem</label>' in page and '<option value="NETWORKING">' in page


def test_regression_list_is_newest_first_and_sorts_by_column_both_ways(client, three_regressions):
    assert listed(client) == ["BUG: no subsystem known", "WARNING in tcp_sendmsg", "BUG: bad page state"]
    assert listed(client, sort="commit") == ["BUG: bad page state", "WARNING in tcp_sendmsg", "BUG: no subsystem known"]
    assert listed(client, sort="-commit") == ["BUG: no subsystem known", "WARNING in tcp_sendmsg", "BUG: bad page state"]
    assert listed(client, sort="title") == ["BUG: bad page state", "BUG: no subsystem known", "WARNING in tcp_sendmsg"]
    page = client.get("/regressions/", {"state": "suspected", "sort": "commit"}).content.decode()
    assert 'href="?state=suspected&amp;sort=-commit"' in page  # clicking again reverses, filter kept
    assert 'aria-sort="ascending"' in page


def test_api_filters_regressions_by_subsystem(client, three_regressions):
    items = client.get("/api/regressions/", {"subsystem": "NETWORKING"}).json()["results"]
    assert [i["first_bad_commit"] for i in items] == ["c"]


@pytest.mark.parametrize("section", ["LKDTM", "MISC DRIVERS"])
def test_regressions_are_found_by_the_most_specific_section_of_their_crashes_or_a_broader_one(client, section):
    make_run("a", **JOB)
    check_job(job_of(make_run("b", reports=[make_report("WARNING in lkdtm_WARNING")],
                              subsystem=["LKDTM", "MISC DRIVERS"], **JOB)).pk)
    check_job(job_of(make_run("c", reports=[make_report("WARNING in tcp_sendmsg")], subsystem="NETWORKING", **JOB)).pk)
    assert listed(client, subsystem=section) == ["WARNING in lkdtm_WARNING"]
    items = client.get("/api/regressions/", {"subsystem": section}).json()["results"]
    assert [i["first_bad_commit"] for i in items] == ["b"]
    assert in_subsystem(Regression.objects.all(), section).get().first_bad_commit == "b"
    assert listed(client, subsystem="MISC") == []
    assert '<option value="MISC DRIVERS">' in client.get("/regressions/").content.decode()


def test_a_tiny_p_value_is_not_rounded_to_zero_and_one_run_is_one_run(client, three_regressions, site):
    reg = three_regressions["c"]
    Regression.objects.filter(pk=reg.pk).update(p_value=0.00036)
    page = client.get("/regressions/").content.decode()
    assert ">0.00036<" in page and ">0.000<" not in page
    assert "p = 0.00036 (Fisher" in client.get(f"/regressions/{reg.pk}/").content.decode()
    from triage.regression_report import report_text, side

    make_run("c", machine="qemu-2", **JOB)  # machines ran the bad commit once and twice
    make_run("c", machine="qemu-3", **JOB)
    make_run("c", machine="qemu-3", **JOB)
    reg.refresh_from_db()
    text = report_text(reg, side(reg, reg.last_good_commit), side(reg, reg.first_bad_commit), None)
    assert "qemu-3 (2 runs), qemu-2 (1 run)" in text
