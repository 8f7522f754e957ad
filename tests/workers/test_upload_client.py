"""`triage upload` against the live test server: a real process, real HTTP, the server's answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.triage.factories import make_token
from triage.models import Log

ROOT = Path(__file__).resolve().parents[2]
LOG = FIXTURES / "logs" / "x86_64-READ_AFTER_FREE.log"


def triage(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TRIAGE_", "GITHUB_", "CI_", "GIT_"))}
    clean.update(HOME=str(home), **env)
    return subprocess.run([sys.executable, "-m", "workers.cli", "upload", *args], cwd=ROOT, env=clean,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.django_db(transaction=True)
def test_upload_reads_the_server_from_a_config_file_and_metadata_from_ci_variables(live_server, tmp_path):
    key = make_token("lab-bot", scopes=["upload"], name="lab bot")
    config = tmp_path / ".config" / "triage" / "client.ini"
    config.parent.mkdir(parents=True)
    config.write_text(f"[server]\nurl = {live_server.url}\ntoken = {key}\n")
    done = triage(str(LOG), "--arch", "x86_64", "--test", "lkdtm", home=tmp_path,
                  GITHUB_SHA="eaf065b089545219", GITHUB_REF_NAME="master", GITHUB_RUN_ID="4242")
    assert done.returncode == 0, done.stderr
    log = Log.objects.get()
    assert done.stdout.strip() == f"{live_server.url}/logs/{log.pk}/"
    assert (log.commit, log.branch, log.run_id, log.arch, log.test) == ("eaf065b089545219", "master", "4242",
                                                                        "x86_64", "lkdtm")
    assert log.uploaded_token.name == "lab bot" and log.filename == LOG.name
    assert log.size == LOG.stat().st_size


@pytest.mark.django_db(transaction=True)
def test_a_refusal_exits_2_with_the_servers_reason(live_server, tmp_path):
    key = make_token("lab-bot", scopes=["read"])
    binary = tmp_path / "vmlinux"
    binary.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(300))
    wrong = triage(str(LOG), "--server", live_server.url, "--token", "not-a-token", home=tmp_path)
    assert wrong.returncode == 2 and "HTTP 401: invalid token" in wrong.stderr
    no_scope = triage(str(LOG), "--server", live_server.url, home=tmp_path, TRIAGE_TOKEN=key)
    assert no_scope.returncode == 2 and "'upload' scope" in no_scope.stderr
    uploader = make_token("lab-bot", scopes=["upload"])
    elf = triage(str(binary), home=tmp_path, TRIAGE_URL=live_server.url, TRIAGE_TOKEN=uploader)
    assert elf.returncode == 2 and "ELF binary" in elf.stderr and "file:" in elf.stderr
    assert not Log.objects.exists()


class Flaky(BaseHTTPRequestHandler):
    """503 twice, then a 201 like the API's."""

    seen: list[tuple[str, int]] = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Flaky.seen.append((self.headers.get("Authorization", ""), len(body)))
        if len(Flaky.seen) <= 2:
            self.send_response(503)
            self.end_headers()
            self.wfile.write(b"busy")
            return
        answer = json.dumps({"id": 7, "url": "http://triage.test/logs/7/"}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def test_5xx_answers_are_retried_with_backoff_and_the_whole_file_is_sent_again(tmp_path):
    Flaky.seen = []
    server = HTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        done = triage(str(LOG), "--server", f"http://127.0.0.1:{server.server_port}", "--token", "k",
                      "--backoff", "0.05", home=tmp_path)
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "http://triage.test/logs/7/"
    assert len(Flaky.seen) == 3 and len({size for _, size in Flaky.seen}) == 1
    assert Flaky.seen[0][1] > LOG.stat().st_size and Flaky.seen[0][0] == "Token k"
    assert done.stderr.count("HTTP 503") == 2 and "retrying" in done.stderr


def test_an_unreachable_server_gives_up_after_the_retries_with_exit_3(tmp_path):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = triage(str(LOG), "--server", f"http://127.0.0.1:{port}", "--retries", "2", "--backoff", "0.01",
                  home=tmp_path)
    assert done.returncode == 3
    assert "cannot reach" in done.stderr and "gave up after 3 attempts" in done.stderr


def test_the_client_imports_no_django():
    code = ("import sys, workers.cli, workers.commands.upload, workers.client; "
            "sys.exit(any(m == 'django' or m.startswith(('django.', 'triage')) for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0
