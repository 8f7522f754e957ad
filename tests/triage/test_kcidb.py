"""KCIDB: a submission's tests become runs (logs fetched from a local HTTP server the test starts,
size-capped and time-limited); runs and crashes export as KCIDB that kcidb-io's schema validates."""

from __future__ import annotations

import gzip
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from kcidb_io import schema
from rest_framework.test import APIClient

from tests.conftest import fixture_log
from tests.triage.factories import make_token
from triage.fetching import fetch
from triage.ingest import RejectedUpload
from triage.models import ApiToken, KcidbImport, Log
from workers.tasks import analyze_log

pytestmark = pytest.mark.django_db
COMMIT = "eaf065b089545219e27e529e3d6b1a0c2f3e4d5a"


class Lab(BaseHTTPRequestHandler):
    """A lab's log server: a crash, a gzipped clean boot, a 404, a huge log, a trickling one."""

    def do_GET(self):  # noqa: N802
        if self.path == "/crash.log":
            self.answer(fixture_log("x86_64-WARNING.log"))
        elif self.path == "/boot.log.gz":
            self.answer(gzip.compress(fixture_log("x86_64-boot.log")))
        elif self.path == "/big.log":
            self.answer(b"[    1.000000] x\n" * 20000)
        elif self.path.startswith("/redirect?to="):  # where a hostile log server might send us
            self.send_response(302)
            self.send_header("Location", self.path.split("=", 1)[1])
            self.end_headers()
        elif self.path == "/slow.log":
            self.send_response(200)
            self.end_headers()
            for _ in range(40):
                self.wfile.write(b"[    1.000000] slow\n")
                self.wfile.flush()
                time.sleep(0.1)
        else:
            self.send_error(404)

    def answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def lab(settings):
    """The lab's server on 127.0.0.1, a network the admin allowed (loopback is refused by default)."""
    settings.TRIAGE_FETCH_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Lab)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def submission(lab: str) -> dict:
    def test(name: str, url: str | None, path: str = "boot") -> dict:
        t = {"id": f"lab:{name}", "origin": "lab", "build_id": "lab:b1", "path": path,
             "environment": {"comment": "rpi-4"}, "status": "FAIL"}
        if url:
            t["log_url"] = url
        return t

    return {
        "version": {"major": 5, "minor": 3},
        "checkouts": [{"id": "lab:c1", "origin": "lab", "tree_name": "mainline",
                       "git_repository_branch": "master", "git_commit_hash": COMMIT}],
        "builds": [{"id": "lab:b1", "origin": "lab", "checkout_id": "lab:c1", "architecture": "x86_64",
                    "config_name": "defconfig"}],
        "tests": [test("crash", f"{lab}/crash.log", "lkdtm.WARNING"), test("boot", f"{lab}/boot.log.gz"),
                  test("gone", f"{lab}/missing.log"), test("big", f"{lab}/big.log"),
                  test("slow", f"{lab}/slow.log"), test("nolog", None), test("file", "file:///etc/passwd")],
    }


def bot(*scopes: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token('lab-bot', scopes=scopes)}")
    return client


@pytest.fixture
def submit(request, django_capture_on_commit_callbacks):
    """POST a submission (202 at once), let the worker's task run, and GET the import it answered with."""
    request.getfixturevalue("eager_tasks")

    def run(client: APIClient, data: dict) -> dict:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/api/kcidb/", data, format="json")
        assert response.status_code == 202, response.content
        assert response.json()["status"] == "queued"
        polled = client.get(response.json()["url"])
        assert polled.status_code == 200, polled.content
        return polled.json()
    return run


def test_import_fetches_each_log_url_capped_in_size_and_time(lab, settings, submit):
    settings.TRIAGE_MAX_LOG_BYTES = 100_000
    settings.TRIAGE_KCIDB_FETCH_TIMEOUT = 1.0
    started = time.monotonic()
    body = submit(bot("upload"), submission(lab))
    assert time.monotonic() - started < 10
    assert body["status"] == "done" and body["tests_submitted"] == 7
    assert body["counts"] == {"created": 2, "error": 4, "skipped": 1}
    outcome = {t["test_id"]: t for t in body["tests"]}
    assert "HTTP 404" in outcome["lab:gone"]["error"]
    assert "larger than the limit" in outcome["lab:big"]["error"]
    assert "took more than 1 s" in outcome["lab:slow"]["error"]
    assert "only http(s)" in outcome["lab:file"]["error"]
    crash = Log.objects.get(pk=outcome["lab:crash"]["log"])
    assert (crash.tree, crash.branch, crash.commit, crash.config, crash.arch, crash.test, crash.machine,
            crash.run_id) == ("mainline", "master", COMMIT, "defconfig", "x86_64", "lkdtm.WARNING", "rpi-4",
                              "lab:crash")
    assert crash.uploaded_token == ApiToken.objects.get()
    boot = Log.objects.get(pk=outcome["lab:boot"]["log"])
    assert boot.size == len(fixture_log("x86_64-boot.log"))  # stored gunzipped
    again = submit(bot("upload"), submission(lab))
    assert again["counts"]["existing"] == 2 and Log.objects.count() == 2


def test_the_post_answers_before_any_log_is_fetched_and_another_token_cannot_poll_it(lab):
    """No web request waits for log servers: the import is queued and a worker fetches (here: none runs)."""
    response = bot("upload").post("/api/kcidb/", submission(lab), format="json")
    assert response.status_code == 202 and response.json()["status"] == "queued"
    assert not Log.objects.exists()
    assert KcidbImport.objects.get().status == KcidbImport.Status.QUEUED
    assert bot("upload").get(response.json()["url"]).status_code == 404  # another bot's import
    assert bot("read").get(response.json()["url"]).json()["counts"] == {}


@pytest.mark.usefixtures("eager_tasks")
def test_an_import_whose_worker_died_is_sent_again_and_finishes(lab, settings, django_capture_on_commit_callbacks):
    """A worker killed mid-import leaves it running without heartbeats; the sweeper re-sends it."""
    from datetime import timedelta

    from django.utils import timezone

    from triage.queueing import sweep

    settings.TRIAGE_MAX_LOG_BYTES = 100_000
    settings.TRIAGE_KCIDB_FETCH_TIMEOUT = 1.0
    job = KcidbImport.objects.create(submission=submission(lab), status=KcidbImport.Status.RUNNING,
                                     task_token="dead", attempts=1,
                                     heartbeat=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep()["kcidbimport"] == 1
    job.refresh_from_db()
    assert job.status == KcidbImport.Status.DONE and job.result["counts"]["created"] == 2


def test_an_invalid_submission_is_a_400_saying_why_and_stores_nothing():
    response = bot("upload").post("/api/kcidb/", {"version": {"major": 5, "minor": 3},
                                                  "tests": [{"id": "no-origin-prefix"}]}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid_kcidb"
    assert "not a valid KCIDB submission" in response.json()["error"]
    assert bot("read").post("/api/kcidb/", {}, format="json").status_code == 403
    assert not Log.objects.exists()


def test_export_is_valid_kcidb_with_crashes_as_incidents_of_their_cluster_issue(lab, submit):
    submit(bot("upload"), submission(lab))
    for log in Log.objects.all():
        assert analyze_log(log.pk) == "done"
    response = bot("read").get("/api/kcidb/", {"commit": COMMIT})
    assert response.status_code == 200
    data = response.json()
    schema.LATEST.validate(data)
    assert (data["version"]["major"], data["version"]["minor"]) == (schema.LATEST.major, schema.LATEST.minor)
    assert [c["git_commit_hash"] for c in data["checkouts"]] == [COMMIT]
    by_path = {t["path"]: t for t in data["tests"]}
    assert by_path["lkdtm.WARNING"]["status"] == "FAIL" and by_path["boot"]["status"] == "PASS"
    assert by_path["boot"]["log_url"].endswith("/raw")
    [incident] = data["incidents"]
    [issue] = data["issues"]
    assert incident["test_id"] == by_path["lkdtm.WARNING"]["id"] and incident["issue_id"] == issue["id"]
    assert issue["report_subject"].startswith("WARNING")
    assert bot("read").get("/api/kcidb/", {"comit": "x"}).status_code == 400
    assert bot("read").get("/api/kcidb/", {"limit": "0"}).status_code == 400


@pytest.mark.parametrize("url", ["http://127.0.0.1:{port}/crash.log", "http://localhost:{port}/crash.log",
                                 "http://[::1]:{port}/crash.log", "http://169.254.169.254/latest/meta-data/",
                                 "http://10.0.0.1/x.log", "http://[::ffff:127.0.0.1]:{port}/crash.log"])
def test_log_urls_on_private_or_loopback_addresses_are_refused(url, settings):
    """The server fetches what a bot names: not its own database, metadata service or LAN."""
    settings.TRIAGE_FETCH_ALLOWED_NETWORKS = []
    with pytest.raises(RejectedUpload, match="may not point at"):
        b"".join(fetch(url.format(port=5432), 1000, 1.0))


def test_a_redirect_to_an_address_not_allowed_is_refused(lab, settings):
    ok = b"".join(fetch(f"{lab}/redirect?to={lab}/crash.log", 100_000, 2.0))  # to the allowed address: fine
    assert ok == fixture_log("x86_64-WARNING.log")
    port = lab.rsplit(":", 1)[1]
    with pytest.raises(RejectedUpload, match="may not point at 127.0.0.2"):
        b"".join(fetch(f"{lab}/redirect?to=http://127.0.0.2:{port}/crash.log", 100_000, 2.0))


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_tasks")
def test_the_cli_submits_and_waits_for_the_import(lab, live_server, tmp_path, settings):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    settings.TRIAGE_MAX_LOG_BYTES = 100_000
    settings.TRIAGE_KCIDB_FETCH_TIMEOUT = 1.0
    data = submission(lab)
    data["tests"] = data["tests"][:2]  # the crash and the boot log
    path = tmp_path / "kcidb.json"
    path.write_text(json.dumps(data))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env.update(HOME=str(tmp_path), TRIAGE_URL=live_server.url, TRIAGE_TOKEN=make_token("lab-bot", scopes=["upload"]))
    done = subprocess.run([sys.executable, "-m", "workers.cli", "kcidb", "submit", str(path)], env=env,
                          cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = sorted(line.split("\t")[:2] for line in done.stdout.splitlines())
    assert lines == [["lab:boot", "created"], ["lab:crash", "created"]]
