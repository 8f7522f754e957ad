"""Uploading logs over the API and the web form: stored once, answered at once, bad input refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.conftest import fixture_log
from tests.triage.factories import make_token, make_user
from triage.models import Log

pytestmark = pytest.mark.django_db


def api_client(token: str | None = None) -> APIClient:
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def upload(client: APIClient, data: bytes, **fields: str):
    return client.post("/api/logs/", {"file": SimpleUploadedFile("dmesg.txt", data), **fields}, format="multipart")


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_api_upload_answers_201_with_the_log_url_and_stores_the_bytes(settings):
    data = fixture_log("x86_64-kasan-uaf.log")
    response = upload(api_client(make_token()), data, commit="abc123", arch="x86_64", test="lkdtm")
    assert response.status_code == 201
    body = response.json()
    assert body["url"].endswith(f"/logs/{body['id']}/")
    assert response["Location"] == body["url"]
    log = Log.objects.get(pk=body["id"])
    assert (log.commit, log.arch, log.test, log.status) == ("abc123", "x86_64", "lkdtm", "queued")
    assert (Path(settings.MEDIA_ROOT) / log.raw).read_bytes() == data


def test_reupload_of_same_bytes_and_metadata_returns_the_existing_log():
    client = api_client(make_token())
    data = fixture_log("x86_64-boot.log")
    first = upload(client, data, commit="abc").json()
    again = upload(client, data, commit="abc")
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    other_run = upload(client, data, commit="abc", run_id="2")
    assert other_run.status_code == 201 and other_run.json()["id"] != first["id"]
    assert Log.objects.count() == 2


def test_upload_needs_a_token():
    response = upload(api_client(), b"[    0.000000] Linux version 6.12\n")
    assert response.status_code in (401, 403)
    assert Log.objects.count() == 0


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (os.urandom(4096), "binary"),
    (b"\x7fELF\x02\x01\x01" + bytes(200), "ELF"),
    (b"\x1f\x8b\x08\x00" + bytes(100), "gzip"),
])
def test_bad_input_gets_a_clear_400_and_leaves_nothing_stored(settings, data, message):
    response = upload(api_client(make_token()), data)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert Log.objects.count() == 0
    assert stored_files(settings) == []


def test_upload_over_the_size_limit_is_refused(settings):
    settings.TRIAGE_MAX_LOG_BYTES = 1000
    response = upload(api_client(make_token()), b"[    1.000000] hello\n" * 100)
    assert response.status_code == 400
    assert "larger than the limit" in response.json()["error"]
    assert Log.objects.count() == 0
    assert stored_files(settings) == []


def test_a_serial_log_with_some_line_noise_is_accepted():
    data = fixture_log("x86_64-boot.log") + b"\x00\xff\xfe garbage on the line\r\n"
    assert upload(api_client(make_token()), data).status_code == 201


def test_web_form_upload_redirects_to_the_log_page(client):
    client.force_login(make_user("alice"))
    data = fixture_log("x86_64-warning.log")
    response = client.post("/logs/upload/", {"file": SimpleUploadedFile("console.log", data), "commit": "deadbeef"})
    assert response.status_code == 302
    log = Log.objects.get()
    assert response["Location"] == f"/logs/{log.pk}/"
    assert log.filename == "console.log" and log.uploaded_by.username == "alice"


def test_web_form_refuses_binary_with_the_reason(client):
    client.force_login(make_user("alice"))
    response = client.post("/logs/upload/", {"file": SimpleUploadedFile("x.bin", os.urandom(2000))})
    assert response.status_code == 400
    assert b"binary" in response.content
    assert Log.objects.count() == 0
