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
    log = make_log(fixture_log("x86_64-kasan-uaf.log"), commit="0123456789abcdef", arch="x86_64")
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
    assert b"".join(response.streaming_content) == fixture_log("x86_64-kasan-uaf.log")


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
