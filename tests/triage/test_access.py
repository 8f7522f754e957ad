"""A private instance by default: pages, raw logs, builds and the API need a login or a token."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.triage.factories import make_log, make_report, make_run

pytestmark = pytest.mark.django_db

PAGES = ["/", "/logs/", "/crashes/", "/clusters/", "/builds/", "/compare/"]


def test_private_by_default_every_page_and_raw_log_sends_anonymous_visitors_to_log_in(anon_client, client):
    log = make_log(b"[    0.000000] Linux version 6.12.0\n")
    for url in [*PAGES, f"/logs/{log.pk}/", f"/logs/{log.pk}/raw"]:
        response = anon_client.get(url)
        assert response.status_code == 302 and response.url.startswith("/login/"), url
        assert client.get(url).status_code == 200, url
    assert anon_client.get("/login/").status_code == 200
    assert anon_client.get("/healthz").status_code == 200


def test_private_api_answers_401_without_a_token_but_its_documentation_is_open():
    make_run("c", reports=[make_report("WARNING in foo")])
    anonymous = APIClient()
    for url in ["/api/logs/", "/api/crashes/", "/api/clusters/", "/api/builds/", "/api/compare/?commit=c"]:
        response = anonymous.get(url)
        assert response.status_code == 401 and response.json()["code"] == "not_authenticated", url
    assert anonymous.get("/api/schema/?format=json").status_code == 200
    assert anonymous.get("/api/docs/").status_code == 200


def test_public_read_opens_reading_but_never_writing(settings, anon_client):
    settings.TRIAGE_PUBLIC_READ = True
    log = make_log(b"[    0.000000] Linux version 6.12.0\n")
    for url in [*PAGES, f"/logs/{log.pk}/raw"]:
        assert anon_client.get(url).status_code == 200, url
    assert APIClient().get("/api/logs/").status_code == 200
    assert APIClient().post("/api/logs/", {}, format="multipart").status_code == 401
    assert anon_client.get("/logs/upload/").status_code == 302
