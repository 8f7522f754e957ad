"""The pages render what the rows say."""

from __future__ import annotations

import pytest

from tests.conftest import fixture_log
from tests.triage.factories import make_log
from triage.models import Crash
from workers.tasks import analyze_log

pytestmark = pytest.mark.django_db


@pytest.fixture
def analyzed_log():
    log = make_log(fixture_log("x86_64-READ_AFTER_FREE.log"), commit="0123456789abcdef", arch="x86_64")
    analyze_log(log.pk)
    return log


def test_log_page_shows_status_crashes_and_raw_log(client, analyzed_log):
    page = client.get(f"/logs/{analyzed_log.pk}/").content.decode()
    crash = Crash.objects.filter(log=analyzed_log).first()
    assert "done" in page
    assert crash.title.replace("'", "&#x27;") in page
    assert "Linux version" in page  # the raw log is on the page


def test_raw_download_returns_the_uploaded_bytes(client, analyzed_log):
    response = client.get(f"/logs/{analyzed_log.pk}/raw")
    assert b"".join(response.streaming_content) == fixture_log("x86_64-READ_AFTER_FREE.log")


def test_crash_list_crash_page_and_cluster_page(client, analyzed_log):
    crash = Crash.objects.filter(log=analyzed_log).first()
    assert crash.title.split()[0] in client.get("/crashes/").content.decode()
    page = client.get(f"/crashes/{crash.pk}/").content.decode()
    assert "no matching vmlinux" in page or "no build information" in page
    assert client.get(f"/clusters/{crash.cluster_id}/").status_code == 200
    assert client.get("/clusters/").status_code == 200
    assert client.get("/").status_code == 200


def test_healthz(client):
    assert client.get("/healthz").json() == {"ok": True}


def test_crash_page_shows_the_report_lines_even_after_firmware_form_feeds(client):
    # SLOF and other firmware print form feeds; they are not line breaks for the parser.
    log = make_log(b"SLOF \x0c\x1b[H firmware\x1c\n" + fixture_log("x86_64-READ_AFTER_FREE.log"))
    analyze_log(log.pk)
    crash = Crash.objects.get(log=log, index=0)
    text = client.get(f"/crashes/{crash.pk}/").context["text"]
    assert "BUG: KASAN: slab-use-after-free" in text.split("\n")[0] or "BUG: KASAN" in text.split("\n")[1]


def test_log_page_lists_nmi_backtraces_as_notices(client):
    log = make_log(fixture_log("x86_64-HARDLOCKUP.log"))
    analyze_log(log.pk)
    log.refresh_from_db()
    assert {n["kind"] for n in log.notices} == {"nmi-backtrace"}
    page = client.get(f"/logs/{log.pk}/").content.decode()
    assert "Notices" in page and "NMI backtrace in" in page


def test_home_says_how_many_new_clusters_it_does_not_list_and_links_them_all(client):
    import re

    from tests.triage.factories import make_report, make_run

    for i in range(12):
        make_run(f"c{i}", reports=[make_report(f"WARNING in fn_{i}", [f"fn_{i}"], kind="WARNING")])
    page = client.get("/").content.decode()
    assert "12 new clusters in the last 7 days, the 10 with most crashes" in page
    link = re.search(r'<a href="(/clusters/\?first_since=[^"]+)">all 12</a>', page).group(1).replace("&amp;", "&")
    assert len(re.findall(r'<a href="/clusters/\d+/">', client.get(link).content.decode())) >= 12
