"""Bots merge, split and rename clusters over the API, with the triage scope, recorded like the pages."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.triage.factories import make_report, make_run, make_token, make_triager
from triage.models import Cluster, ClusterEvent, Crash

pytestmark = pytest.mark.django_db


def cluster(title: str) -> Cluster:
    make_run("c1", reports=[make_report(title, [title.split()[-1]])])
    return Cluster.objects.get(title=title)


@pytest.fixture
def triager() -> APIClient:
    make_triager("alice")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token('alice', scopes=['triage', 'read'])}")
    return client


def test_merge_over_the_api_moves_crashes_records_history_and_redirects_the_old_url(triager):
    foo, bar = cluster("WARNING in foo"), cluster("WARNING in bar")
    response = triager.post(f"/api/clusters/{foo.pk}/merge/", {"into": bar.pk}, format="json")
    assert response.status_code == 200 and response.json()["id"] == bar.pk
    assert response.json()["crash_count"] == 2 and Crash.objects.filter(cluster=bar).count() == 2
    events = triager.get(f"/api/clusters/{bar.pk}/events/").json()
    assert events[0]["action"] == "merge" and events[0]["user"] == "alice"
    assert ClusterEvent.objects.filter(cluster=foo, action="merge", user__username="alice").exists()
    assert triager.get(f"/api/clusters/{foo.pk}/").status_code == 301
    again = triager.post(f"/api/clusters/{foo.pk}/merge/", {"into": bar.pk}, format="json")
    assert again.status_code == 400 and "already merged" in again.json()["error"]


def test_split_and_rename_over_the_api(triager):
    foo = cluster("WARNING in foo")
    bar = cluster("WARNING in bar")
    triager.post(f"/api/clusters/{bar.pk}/merge/", {"into": foo.pk}, format="json")
    response = triager.post(f"/api/clusters/{foo.pk}/split/", {"titles": ["WARNING in bar"], "title": "bar again"},
                            format="json")
    assert response.status_code == 201
    new = Cluster.objects.get(pk=response.json()["id"])
    assert new.title == "bar again" and new.crashes.get().title == "WARNING in bar"
    renamed = triager.post(f"/api/clusters/{foo.pk}/rename/", {"title": "foo: use-after-free"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["title"] == "foo: use-after-free"
    assert list(ClusterEvent.objects.filter(cluster=foo).values_list("action", flat=True)) == \
        ["rename", "split", "merge"]


@pytest.mark.parametrize("action, body, field", [
    ("merge", {}, "into"), ("merge", {"into": "bar"}, "into"), ("split", {"titles": []}, "titles"),
    ("rename", {"title": ""}, "title"),
])
def test_malformed_edits_are_a_400_naming_the_field(triager, action, body, field):
    foo = cluster("WARNING in foo")
    response = triager.post(f"/api/clusters/{foo.pk}/{action}/", body, format="json")
    assert response.status_code == 400 and field in response.json()["fields"]


def test_edits_need_the_triage_scope_and_the_triage_permission():
    foo, bar = cluster("WARNING in foo"), cluster("WARNING in bar")
    make_triager("alice")
    no_scope = APIClient()
    no_scope.credentials(HTTP_AUTHORIZATION=f"Token {make_token('alice', scopes=['read', 'upload'])}")
    not_triager = APIClient()
    not_triager.credentials(HTTP_AUTHORIZATION=f"Token {make_token('bob', scopes=['triage'])}")
    for client in (no_scope, not_triager, APIClient()):
        for action, body in (("merge", {"into": bar.pk}), ("rename", {"title": "x"}),
                             ("split", {"titles": ["WARNING in foo"]})):
            assert client.post(f"/api/clusters/{foo.pk}/{action}/", body, format="json").status_code in (401, 403)
    assert Cluster.objects.get(pk=foo.pk).merged_into is None and not ClusterEvent.objects.exists()


def test_an_edit_of_a_cluster_that_does_not_exist_is_a_404(triager):
    assert triager.post("/api/clusters/999999/rename/", {"title": "x"}, format="json").status_code == 404


def test_schema_generates_without_warnings_and_documents_every_endpoint():
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_api_edit_urls_do_not_take_the_pages_url_names():
    from django.urls import reverse

    assert reverse("cluster-merge", args=[1]) == "/clusters/1/merge"
    assert reverse("cluster-api-merge", args=[1]) == "/api/clusters/1/merge/"
