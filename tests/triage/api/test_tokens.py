"""Scoped, hashed API tokens: each scope refuses what it does not allow; rate limits per token."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.conftest import fixture_log
from tests.triage.factories import make_report, make_run, make_token, make_triager, make_user
from triage.models import ApiToken, Cluster, Log
from triage.tokens import hash_key

pytestmark = pytest.mark.django_db


def bot(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def upload(client: APIClient, data: bytes = b"[    0.000000] Linux version 6.12.0\n", **fields):
    return client.post("/api/logs/", {"file": SimpleUploadedFile("dmesg.txt", data), **fields}, format="multipart")


@pytest.fixture
def a_cluster() -> Cluster:
    make_run("c1", reports=[make_report("WARNING in foo", ["foo"])])
    return Cluster.objects.get()


def test_upload_scope_uploads_and_is_recorded_but_cannot_read_or_triage(a_cluster):
    client = bot(make_token("ci", scopes=["upload"], name="lab-3 bot"))
    response = upload(client, commit="abc")
    assert response.status_code == 201
    log = Log.objects.get(pk=response.json()["id"])
    assert log.uploaded_token.name == "lab-3 bot" and log.uploaded_by.username == "ci"
    refused = client.get("/api/logs/")
    assert refused.status_code == 403 and "'read' scope" in refused.json()["error"]
    assert client.get(f"/api/clusters/{a_cluster.pk}/").status_code == 403
    assert client.post(f"/api/clusters/{a_cluster.pk}/status/", {"status": "fixed"}, format="json").status_code == 403


def test_read_scope_reads_but_cannot_upload_logs_or_builds_or_triage(a_cluster):
    make_triager("reader-bot")
    client = bot(make_token("reader-bot", scopes=["read"]))
    assert client.get("/api/clusters/").status_code == 200
    assert client.get(f"/api/clusters/{a_cluster.pk}/").status_code == 200
    refused = upload(client)
    assert refused.status_code == 403 and "'upload' scope" in refused.json()["error"]
    assert client.post("/api/builds/", {"commit": "x"}, format="multipart").status_code == 403
    response = client.post(f"/api/clusters/{a_cluster.pk}/status/", {"status": "fixed"}, format="json")
    assert response.status_code == 403 and "'triage' scope" in response.json()["error"]
    assert Log.objects.count() == 1 and Cluster.objects.get().status == "open"


def test_triage_scope_needs_the_triage_permission_too_and_cannot_upload(a_cluster):
    plain = bot(make_token("plain", scopes=["triage"]))
    response = plain.post(f"/api/clusters/{a_cluster.pk}/status/", {"status": "fixed"}, format="json")
    assert response.status_code == 403 and "triage permission" in response.json()["error"]
    make_triager("alice")
    alice = bot(make_token("alice", scopes=["triage"]))
    assert alice.post(f"/api/clusters/{a_cluster.pk}/status/", {"status": "fixed", "fixed_commit": "f00"},
                      format="json").status_code == 200
    assert Cluster.objects.get().status == "fixed"
    assert upload(alice).status_code == 403
    assert alice.get("/api/logs/").status_code == 403


def test_tokens_are_stored_hashed_and_a_revoked_or_wrong_key_is_a_401():
    key = make_token("ci", scopes=["read"])
    token = ApiToken.objects.get()
    assert key not in (token.key_hash, token.prefix) and token.prefix == key[:8] and len(token.key_hash) == 64
    assert token.last_used is None
    assert bot(key).get("/api/logs/").status_code == 200
    token.refresh_from_db()
    assert token.last_used is not None
    token.delete()
    response = bot(key).get("/api/logs/")
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"
    assert response["WWW-Authenticate"] == "Token"
    assert bot("nonsense").get("/api/logs/").status_code == 401


def test_settings_page_creates_a_token_shown_once_lists_and_revokes_only_ones_own(client):
    response = client.post("/settings/tokens/", {"name": "kernelci bot", "scopes": ["upload", "read"]})
    assert response.status_code == 200
    key = re.search(r'<pre id="new-key">(\w+)</pre>', response.content.decode()).group(1)
    token = ApiToken.objects.get()
    assert token.user.username == "reader" and token.scopes == ["upload", "read"]
    assert bot(key).get("/api/logs/").status_code == 200
    listing = client.get("/settings/tokens/").content.decode()
    assert "kernelci bot" in listing and token.prefix in listing and key not in listing
    mallory = make_user("mallory")
    others = ApiToken.objects.create(user=mallory, name="m", key_hash="0" * 64, prefix="00000000", scopes=["read"])
    assert client.post(f"/settings/tokens/{others.pk}/revoke").status_code == 404
    assert client.post(f"/settings/tokens/{token.pk}/revoke").status_code == 302
    assert list(ApiToken.objects.all()) == [others]
    assert bot(key).get("/api/logs/").status_code == 401
    assert client.post("/settings/tokens/", {"name": "x", "scopes": []}).status_code == 400


def test_rate_limit_per_token_in_the_shared_cache(settings):
    cache.clear()
    settings.TRIAGE_API_RATE = "3/min"
    key, other = make_token("ci", scopes=["read"]), make_token("ci", scopes=["read"])
    for _ in range(3):
        assert bot(key).get("/api/clusters/").status_code == 200
    response = bot(key).get("/api/clusters/")
    assert response.status_code == 429 and response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
    assert bot(other).get("/api/clusters/").status_code == 200  # per token, not per user or address
    token = ApiToken.objects.get(key_hash=hash_key(key))
    assert len(cache.get(f"triage-throttle-token-{token.pk}")) == 3  # where every web process counts


def test_demo_token_is_printed_the_same_on_every_start_and_works(settings, tmp_path, capsys):
    settings.VAR_DIR = tmp_path
    call_command("load_demo", "--no-logs")
    first = re.search(r"API token (\w+)", capsys.readouterr().out).group(1)
    call_command("load_demo", "--no-logs")
    assert re.search(r"API token (\w+)", capsys.readouterr().out).group(1) == first
    assert ApiToken.objects.filter(user__username="demo").count() == 1
    assert upload(bot(first), fixture_log("x86_64-boot.log")).status_code == 201
