"""Cluster triage state: status, links and notes from the page and the API, with history."""

from __future__ import annotations

import pytest

from tests.triage.factories import make_report, make_run, make_token, make_triager, make_user
from triage.models import Cluster, ClusterEvent

pytestmark = pytest.mark.django_db


def cluster(title: str = "BUG: one") -> Cluster:
    return make_run("c1", reports=[make_report(title)]).crashes.get().cluster


def test_a_triager_marks_a_cluster_fixed_from_its_page_and_the_history_says_who(client):
    c = cluster()
    client.force_login(make_triager("alice"))
    assert "Set status" in client.get(c.get_absolute_url()).content.decode()
    response = client.post(f"/clusters/{c.pk}/status", {"status": "fixed", "fixed_commit": "abc123"})
    assert response.status_code == 302
    c.refresh_from_db()
    assert (c.status, c.fixed_commit, c.status_by.username) == ("fixed", "abc123", "alice")
    event = ClusterEvent.objects.get(cluster=c, action="status")
    assert (event.detail, event.user.username) == ("open → fixed by abc123", "alice")
    page = client.get(c.get_absolute_url()).content.decode()
    assert "abc123" in page and "open → fixed by abc123" in page


def test_links_and_notes_are_shown_and_kept_in_the_history(client):
    c = cluster()
    client.force_login(make_triager())
    client.post(f"/clusters/{c.pk}/links", {"url": "https://lore.kernel.org/r/1", "label": "patch v2"})
    client.post(f"/clusters/{c.pk}/notes", {"text": "only with KASAN on"})
    page = client.get(c.get_absolute_url()).content.decode()
    assert 'href="https://lore.kernel.org/r/1"' in page and "patch v2" in page and "only with KASAN on" in page
    listing = client.get("/clusters/").content.decode()
    assert "patch v2" in listing
    assert set(ClusterEvent.objects.filter(cluster=c).values_list("action", flat=True)) == {"link", "note"}
    link = c.links.get()
    client.post(f"/clusters/{c.pk}/links/{link.pk}/remove")
    assert not c.links.exists()


def test_a_javascript_link_is_refused():
    from triage.cluster_status import add_link
    from triage.clusters import ClusterEditError

    with pytest.raises(ClusterEditError):
        add_link(cluster().pk, "javascript:alert(1)")


def test_duplicate_needs_another_cluster_and_lists_filter_by_status(client):
    a, b = cluster("BUG: a"), cluster("BUG: b")
    client.force_login(make_triager())
    client.post(f"/clusters/{a.pk}/status", {"status": "duplicate", "duplicate_of": str(a.pk)})
    assert Cluster.objects.get(pk=a.pk).status == "open"  # not of itself
    client.post(f"/clusters/{a.pk}/status", {"status": "duplicate", "duplicate_of": f"#{b.pk}"})
    assert Cluster.objects.get(pk=a.pk).duplicate_of_id == b.pk
    page = client.get("/clusters/", {"status": "duplicate"}).content.decode()
    assert "BUG: a" in page and "BUG: b" not in page


def test_people_without_the_triage_permission_cannot_change_status(client):
    c = cluster()
    client.force_login(make_user("someone"))
    assert client.post(f"/clusters/{c.pk}/status", {"status": "invalid"}).status_code == 403
    assert "Set status" not in client.get(c.get_absolute_url()).content.decode()
    assert Cluster.objects.get(pk=c.pk).status == "open"


def test_a_bot_closes_a_cluster_over_the_api_with_a_triager_token(client):
    c = cluster()
    make_triager("bot")
    auth = {"HTTP_AUTHORIZATION": f"Token {make_token('bot')}"}
    response = client.post(f"/api/clusters/{c.pk}/status/", {"status": "fixed", "fixed_commit": "deadbeef"},
                           content_type="application/json", **auth)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "fixed" and response.json()["status_by"] == "bot"
    client.post(f"/api/clusters/{c.pk}/links/", {"url": "https://git.kernel.org/x", "label": "fix"},
                content_type="application/json", **auth)
    assert client.post(f"/api/clusters/{c.pk}/notes/", {"text": "fixed upstream"}, content_type="application/json",
                       **auth).status_code == 200
    got = client.get(f"/api/clusters/{c.pk}/").json()
    assert got["fixed_commit"] == "deadbeef" and got["links"] == [{"url": "https://git.kernel.org/x", "label": "fix"}]
    bad = client.post(f"/api/clusters/{c.pk}/status/", {"status": "wontfix"}, content_type="application/json", **auth)
    assert bad.status_code == 400 and "unknown status" in bad.json()["error"]


def test_api_refuses_tokens_without_the_triage_permission(client):
    c = cluster()
    auth = {"HTTP_AUTHORIZATION": f"Token {make_token('plain')}"}
    response = client.post(f"/api/clusters/{c.pk}/status/", {"status": "invalid"}, content_type="application/json",
                           **auth)
    assert response.status_code == 403
    assert client.post(f"/api/clusters/{c.pk}/status/", {"status": "invalid"},
                       content_type="application/json").status_code in (401, 403)
    assert Cluster.objects.get(pk=c.pk).status == "open"
