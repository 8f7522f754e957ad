"""Accounts and deployment: anonymous uploads refused before the body, login throttling, password
validators, HTTPS settings, CSP, DEBUG off, a generated secret key, `check --deploy` clean."""

from __future__ import annotations

import io
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client, RequestFactory

from tests.triage.factories import make_token, make_user

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


class UnreadBody(io.RawIOBase):
    """A request body that records whether anything read it."""

    def __init__(self) -> None:
        self.read_from = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        self.read_from = True
        buffer[:1] = b"x"
        return 1


@pytest.mark.parametrize("path", ["/logs/upload/", "/builds/upload/", "/api/logs/", "/api/builds/"])
def test_an_anonymous_upload_is_refused_before_its_body_is_read(path):
    body = UnreadBody()
    environ = RequestFactory().post(path, data=b"", content_type="multipart/form-data; boundary=x").environ
    environ.update({"wsgi.input": body, "CONTENT_LENGTH": str(50 * 1024 * 1024)})
    responses = []
    result = WSGIHandler()(environ, lambda status, headers: responses.append(status))
    assert not body.read_from, "the body of an anonymous upload was read"
    assert responses[0].split()[0] in ("302", "401")
    if path.startswith("/api/"):
        assert b"authentication" in b"".join(result)


def test_an_upload_with_a_valid_token_is_read(client):
    response = client.post("/api/logs/", {}, HTTP_AUTHORIZATION=f"Token {make_token()}")
    assert response.status_code == 400 and "file" in response.json()["error"]  # read: it has no file


def test_logins_are_throttled_after_repeated_wrong_passwords(settings):
    client = Client()  # anonymous
    cache.clear()
    settings.TRIAGE_LOGIN_FAILURES = 5
    user = make_user("alice")
    user.set_password("correct horse battery staple")
    user.save()
    for _ in range(5):
        response = client.post("/login/", {"username": "alice", "password": "wrong"})
        assert response.status_code == 200 and not response.wsgi_request.user.is_authenticated
    response = client.post("/login/", {"username": "alice", "password": "correct horse battery staple"})
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    cache.clear()  # the lockout expires
    response = client.post("/login/", {"username": "alice", "password": "correct horse battery staple"})
    assert response.status_code == 302 and "_auth_user_id" in client.session


def test_weak_passwords_are_refused():
    for weak in ("123", "password", "12345678901", "alice2024"):
        with pytest.raises(ValidationError):
            validate_password(weak, make_user("alice2024"))
    validate_password("a long unusual passphrase 7", make_user("bob"))


def test_every_page_has_a_content_security_policy(client):
    policy = client.get("/")["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "unsafe-inline" not in policy.split(
        "script-src")[1].split(";")[0]


def test_templates_hold_no_inline_script():
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        for chunk in text.split("<script")[1:]:
            assert "src=" in chunk.split(">")[0] or 'type="application/json"' in chunk.split(">")[0], (
                f"{template.name}: inline <script> (move it to static/: the CSP refuses it)")


def django_env(**env: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "TRIAGE_HTTPS")}
    return {**base, **env}


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=django_env(**env),
                          capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_in_the_documented_production_setup():
    result = run_manage("check", "--deploy", DEBUG="0", TRIAGE_HTTPS="1", ALLOWED_HOSTS="triage.example.org",
                        SECRET_KEY=secrets.token_urlsafe(50))
    assert result.returncode == 0, result.stderr
    security = [line for line in (result.stdout + result.stderr).splitlines() if "(security." in line]
    assert security == []


def test_https_setting_turns_on_secure_cookies_hsts_and_redirects():
    code = ("from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
            "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0, s.DEBUG)")
    result = run_manage("shell", "-c", code, TRIAGE_HTTPS="1", SECRET_KEY=secrets.token_urlsafe(50))
    assert result.stdout.splitlines()[-1].split() == ["True", "True", "True", "True", "False"], result.stderr


def test_an_empty_secret_key_is_refused():
    result = run_manage("check", SECRET_KEY="")
    assert result.returncode != 0 and "SECRET_KEY is empty" in result.stderr


def test_without_a_secret_key_one_is_generated_once_under_var(tmp_path):
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    first = run_manage("shell", "-c", code, TRIAGE_VAR_DIR=str(tmp_path))
    again = run_manage("shell", "-c", code, TRIAGE_VAR_DIR=str(tmp_path))
    key = (tmp_path / "secret_key").read_text().strip()
    assert first.stdout.splitlines()[-1] == again.stdout.splitlines()[-1] == key and len(key) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
