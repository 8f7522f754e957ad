"""A crash keeps its id across re-analysis; a report that vanished answers 410; merged clusters redirect."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.conftest import fixture_log
from tests.triage.factories import make_log, make_report, make_run, make_token, make_user
from triage.clusters import merge
from triage.models import Cluster, Crash, VanishedCrash
from workers import parser as engine
from workers.tasks import analyze_log

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token()}")
    return client


@pytest.fixture
def two_crash_log():
    log = make_log(fixture_log("x86_64-WARNING.log") + fixture_log("x86_64-BUG.log"))
    assert analyze_log(log.pk) == "done"
    crashes = list(log.crashes.order_by("index"))
    assert len(crashes) == 2
    return log, crashes


def test_reanalysis_keeps_crash_ids_and_the_old_url_still_answers(api, client, two_crash_log):
    log, before = two_crash_log
    Crash.objects.filter(pk=before[0].pk).update(title="an older parser's title")
    assert analyze_log(log.pk) == "done"
    after = list(log.crashes.order_by("index"))
    assert [c.pk for c in after] == [c.pk for c in before]
    log.refresh_from_db()
    assert log.analyses == 2
    assert after[0].title == before[0].title  # updated in place, not a stale row
    response = api.get(f"/api/crashes/{before[0].pk}/")
    assert response.status_code == 200 and response.json()["title"] == before[0].title
    client.force_login(make_user("reader"))
    assert client.get(f"/crashes/{before[1].pk}/").status_code == 200


def test_a_report_the_parser_no_longer_finds_answers_410_with_its_log(api, client, monkeypatch, two_crash_log):
    log, before = two_crash_log
    real_parse = engine.parse_log

    def parser_without_the_first_report(data, name=None, **options):  # a parser change that drops a kind of report
        parsed = real_parse(data, name, **options)
        parsed.reports = parsed.reports[1:]
        return parsed

    monkeypatch.setattr(engine, "parse_log", parser_without_the_first_report)
    assert analyze_log(log.pk) == "done"
    assert list(log.crashes.values_list("pk", flat=True)) == [before[1].pk]  # the survivor kept its id
    assert log.crashes.get().index == 0
    response = api.get(f"/api/crashes/{before[0].pk}/")
    assert response.status_code == 410
    body = response.json()
    assert body["code"] == "gone" and body["see"].endswith(f"/logs/{log.pk}/")
    assert f"line {before[0].start_line + 1}" in body["error"]
    client.force_login(make_user("reader"))
    page = client.get(f"/crashes/{before[0].pk}/")
    assert page.status_code == 410
    assert f'href="/logs/{log.pk}/#L{before[0].start_line + 1}"' in page.content.decode()
    assert api.get("/api/crashes/987654/").status_code == 404  # never existed: a plain 404
    assert VanishedCrash.objects.get().title == before[0].title


def test_a_merged_clusters_api_url_leads_to_the_survivor(api):
    make_run("a", reports=[make_report("WARNING in foo", ["foo"])])
    make_run("b", reports=[make_report("WARNING in bar", ["bar"])])
    make_run("c", reports=[make_report("WARNING in baz", ["baz"])])
    foo, bar, baz = (Cluster.objects.get(title=f"WARNING in {f}") for f in ("foo", "bar", "baz"))
    merge(foo.pk, bar.pk)
    merge(bar.pk, baz.pk)
    response = api.get(f"/api/clusters/{foo.pk}/")
    assert response.status_code == 301
    assert response["Location"].endswith(f"/api/clusters/{baz.pk}/") and response.json()["see"] == response["Location"]
    followed = api.get(response["Location"])
    assert followed.status_code == 200 and followed.json()["id"] == baz.pk
