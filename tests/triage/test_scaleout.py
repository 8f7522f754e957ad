"""Scale-out: uploads in S3-compatible object storage, read by worker processes that share nothing
else but PostgreSQL and Redis (each its own local folder and cache).

The object store is moto's stand-alone S3 server on a free port (tests.s3server); the workers are real
`celery worker` processes; nothing is mocked.
"""

from __future__ import annotations

import lzma
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from rest_framework.test import APIClient

from tests.conftest import fixture_log
from tests.s3server import start_s3
from tests.triage.factories import make_token
from tests.triage.test_builds import SOURCE, crash_log
from triage.models import Build, Crash, Log

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def s3(settings, monkeypatch):
    try:
        server = start_s3()
    except Exception as exc:  # no moto, or the server cannot bind
        pytest.skip(f"no S3-protocol server for the test: {exc}")
    for name, value in server.env.items():
        monkeypatch.setenv(name, value)
    settings.STORAGES = server.storages()
    yield server
    server.stop()



def api() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token()}")
    return client


def local_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


@pytest.mark.django_db
def test_a_log_is_stored_in_object_storage_and_pages_read_it_back(s3, settings, client):
    data = fixture_log("x86_64-READ_AFTER_FREE.log")
    response = api().post("/api/logs/", {"file": SimpleUploadedFile("dmesg.txt", data)}, format="multipart")
    assert response.status_code == 201, response.content
    log = Log.objects.get(pk=response.json()["id"])
    assert s3.keys("logs/") == [log.raw]
    assert s3.client().get_object(Bucket=s3.bucket, Key=log.raw)["Body"].read() == data
    assert local_files(Path(settings.MEDIA_ROOT)) == []  # nothing kept on this machine
    assert b"".join(client.get(f"/logs/{log.pk}/raw").streaming_content) == data
    first = data.decode().splitlines()[0]
    assert first in client.get(f"/logs/{log.pk}/").content.decode()


@pytest.mark.django_db
def test_build_files_go_to_object_storage_and_a_refused_build_leaves_none(s3, settings):
    ko = b"\x7fELF" + bytes(100)
    response = api().post("/api/builds/", {"modules": [SimpleUploadedFile("lkdtm.ko", ko)]}, format="multipart")
    assert response.status_code == 201, response.content
    build = Build.objects.get()
    assert s3.keys("builds/") == [f"{build.index_dir}/modules/lkdtm.ko"]
    settings.TRIAGE_MAX_BUILD_BYTES = 50
    response = api().post("/api/builds/", {"modules": [SimpleUploadedFile("big.ko", ko)]}, format="multipart")
    assert response.status_code == 400
    assert s3.keys("builds/") == [f"{build.index_dir}/modules/lkdtm.ko"]
    assert local_files(Path(settings.MEDIA_ROOT)) == []


class Worker:
    """A `celery worker` process with its own local folders, reading the test database."""

    def __init__(self, name: str, queues: str, tmp: Path, env: dict[str, str]) -> None:
        self.name, self.folder = name, tmp / name
        self.folder.mkdir()
        self.cache = self.folder / "cache"
        self.output = self.folder / "worker.log"
        db = connection.settings_dict
        url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        environ = {**os.environ, **env, "DATABASE_URL": url, "TRIAGE_VAR_DIR": str(self.folder / "var"),
                   "TRIAGE_STORAGE_DIR": str(self.folder / "storage"), "TRIAGE_CACHE_DIR": str(self.cache),
                   "DJANGO_SETTINGS_MODULE": "triage.settings"}
        with open(self.output, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker", "-P", "solo", "-Q", queues,
                 "-n", f"{name}-{os.getpid()}@%h", "--without-mingle", "--without-gossip", "--loglevel=INFO"],
                cwd=ROOT, env=environ, stdout=out, stderr=subprocess.STDOUT)
        if not wait_for(lambda: " ready." in self.log() or self.process.poll() is not None, 90):
            self.stop()
            raise AssertionError(f"worker {name} did not start:\n{self.log()[-3000:]}")
        assert self.process.poll() is None, self.log()[-3000:]

    def log(self) -> str:
        return self.output.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_for(predicate, timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def workers(s3, tmp_path, django_db_setup):
    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        pytest.skip("worker processes share PostgreSQL and Redis with the test: set DATABASE_URL and REDIS_URL")
    started: list[Worker] = []

    def start(name: str, queues: str) -> Worker:
        started.append(Worker(name, queues, tmp_path, s3.env))
        return started[-1]

    yield start
    for worker in started:
        worker.stop()


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_build_indexed_by_one_worker_decodes_on_another_without_a_rebuild(workers, s3, vmlinux, settings):
    indexer = workers("indexer", "index")
    analyst = workers("analyst", "analysis,periodic")
    response = api().post("/api/builds/", {"vmlinux": SimpleUploadedFile("vmlinux.xz", lzma.compress(vmlinux.read_bytes())),
                                           "commit": "abc"}, format="multipart")
    assert response.status_code == 201, response.content
    build = Build.objects.get(pk=response.json()["id"])
    assert wait_for(lambda: Build.objects.get(pk=build.pk).index_status in ("ready", "failed")), indexer.log()[-3000:]
    build.refresh_from_db()
    assert build.index_status == "ready", build.index_error
    keys = s3.keys(build.index_dir)
    assert f"{build.index_dir}/vmlinux" in keys
    assert f"{build.index_dir}/upload/vmlinux.xz" not in keys  # one copy kept: the decompressed one
    assert any(k.startswith(f"indexes/{build.buildid}.index") and k.endswith("/meta.json") for k in s3.keys("indexes/"))

    response = api().post("/api/logs/", {"file": SimpleUploadedFile("dmesg.txt", crash_log(vmlinux))}, format="multipart")
    assert response.status_code == 201, response.content
    log_id = response.json()["id"]
    assert wait_for(lambda: Crash.objects.filter(log_id=log_id, decode_status__in=("done", "failed")).exists()), \
        analyst.log()[-3000:]
    crash = Crash.objects.get(log_id=log_id, index=0)
    assert crash.decode_status == "done", crash.decode_error
    assert "crash_here (" in crash.decoded["text"] and "kernel.c:" in crash.decoded["text"]
    assert crash.decoded["lazy"] is False

    assert "built in" in indexer.log() and "built in" not in analyst.log()
    assert "downloaded from storage" in analyst.log()
    assert any(p.name.startswith(f"{build.buildid}.index") for p in (analyst.cache / "entries").iterdir())
    assert not (analyst.cache / "entries" / f"{build.buildid}.vmlinux").exists()  # the index was enough
    for worker in (indexer, analyst):
        assert local_files(worker.folder / "storage") == []  # all shared files came from the object store


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_two_workers_that_index_the_same_vmlinux_at_once_build_it_once(workers, s3, vmlinux):
    first, second = workers("first", "index"), workers("second", "index")
    ids = []
    for commit in ("a", "b"):  # the same vmlinux uploaded twice (two CI bots): one build-id
        response = api().post("/api/builds/", {"vmlinux": SimpleUploadedFile("vmlinux", vmlinux.read_bytes()),
                                               "commit": commit}, format="multipart")
        ids.append(response.json()["id"])

    def done() -> bool:
        return all(s in ("ready", "failed", "none") for s in
                   Build.objects.filter(pk__in=ids).values_list("index_status", flat=True))

    assert wait_for(done), first.log()[-2000:] + second.log()[-2000:]
    # One build: whichever upload was identified second was added to the other (one vmlinux kept).
    builds = sorted(Build.objects.filter(pk__in=ids), key=lambda b: b.index_status)
    assert [b.index_status for b in builds] == ["none", "ready"], [b.index_error for b in builds]
    shell, build = builds
    assert f"is already build {build.pk}" in shell.index_error and not shell.buildid and not shell.files.exists()
    logs = first.log() + second.log()
    assert logs.count("built in") == 1, logs[-4000:]


@pytest.mark.django_db
def test_an_index_stored_where_older_versions_kept_it_is_still_used(vmlinux, settings,
                                                                     django_capture_on_commit_callbacks):
    """Builds indexed before indexes were stored by build-id have theirs beside the build."""
    from workers.celery_app import app

    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = api().post("/api/builds/", {"vmlinux": SimpleUploadedFile("vmlinux", vmlinux.read_bytes())},
                                  format="multipart")
        build = Build.objects.get(pk=response.json()["id"])
        assert build.index_status == "ready", build.index_error
        media = Path(settings.MEDIA_ROOT)
        (stored,) = (media / "indexes").iterdir()
        stored.rename(media / build.index_dir / "index")  # the old layout
        shutil.rmtree(settings.TRIAGE_CACHE_DIR)  # a worker that never saw the build
        with django_capture_on_commit_callbacks(execute=True):
            response = api().post("/api/logs/", {"file": SimpleUploadedFile("dmesg.txt", crash_log(vmlinux))},
                                  format="multipart")
    finally:
        app.conf.task_always_eager = False
    crash = Crash.objects.get(log_id=response.json()["id"], index=0)
    assert crash.decode_status == "done", crash.decode_error
    assert "kernel.c:" in crash.decoded["text"] and crash.decoded["lazy"] is False
    assert not (media / "indexes").exists() or not any((media / "indexes").iterdir())  # not built again


@pytest.mark.django_db
def test_a_worker_cache_over_its_limit_evicts_and_fetches_again_when_needed(vmlinux, tmp_path, settings,
                                                                           django_capture_on_commit_callbacks):
    from tests.triage.test_builds import RELEASE
    from triage.decoding import build_cache, index_key
    from workers.celery_app import app

    other = tmp_path / "other"
    other.mkdir()
    (other / "kernel.c").write_text(SOURCE.replace(RELEASE, "6.99.1-other"))
    subprocess.run(["gcc", "-g", "-O2", "-nostdlib", "-static", "-fno-stack-protector", "-Wl,--build-id",
                    str(other / "kernel.c"), "-o", str(other / "vmlinux")], check=True)
    logs = {vmlinux: crash_log(vmlinux), other / "vmlinux": crash_log(other / "vmlinux").replace(
        RELEASE.encode(), b"6.99.1-other")}
    settings.TRIAGE_CACHE_BYTES = 1  # smaller than anything: all that is not in use goes
    app.conf.task_always_eager = True
    try:
        builds, crashes = [], []
        for binary, log in logs.items():
            with django_capture_on_commit_callbacks(execute=True):
                response = api().post("/api/builds/", {"vmlinux": SimpleUploadedFile("vmlinux", binary.read_bytes())},
                                      format="multipart")
                builds.append(Build.objects.get(pk=response.json()["id"]))
            with django_capture_on_commit_callbacks(execute=True):
                response = api().post("/api/logs/", {"file": SimpleUploadedFile("dmesg.txt", log)}, format="multipart")
            crashes.append(Crash.objects.get(log_id=response.json()["id"], index=0))
        first, second = (Build.objects.get(pk=b.pk) for b in builds)
        cache = build_cache()
        assert not cache.path(index_key(first)).exists()  # evicted when the second build came in
        assert cache.path(index_key(second)).exists()  # the last one used stays until the next fill
        from workers.tasks import decode_log

        assert decode_log(crashes[0].log_id) == "done"  # needed again: fetched from storage again
    finally:
        app.conf.task_always_eager = False
    for crash in crashes:
        crash.refresh_from_db()
        assert crash.decode_status == "done" and "kernel.c:" in crash.decoded["text"], crash.decode_error
    assert cache.path(index_key(first)).exists() and not cache.path(index_key(second)).exists()


@pytest.mark.django_db
def test_pages_number_lines_read_in_chunks_as_the_engine_does(monkeypatch):
    from tests.triage.factories import make_log
    from triage import storage
    from triage.ingest import read_lines
    from workers.report import log_lines

    monkeypatch.setattr(storage, "CHUNK", 7)  # lines cross chunk boundaries, some chunks are one line's middle
    data = b"first line\r\n\n\x0cform feed stays\nx" + b"a" * 40 + b"\r\n\r\nlast without newline"
    log = make_log(data)
    lines, more = read_lines(log, 100)
    assert lines == log_lines(data.decode()) and not more
    assert read_lines(log, 3) == (log_lines(data.decode())[:3], True)
