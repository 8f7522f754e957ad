"""Nothing stuck, nothing done twice: tokens, the sweeper, broker outages, re-queue and re-index guards.

The broker is a real redis-server started for this module (stopped to play an outage); the worker is
a real Celery worker thread on it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from tests.conftest import fixture_log
from tests.servers import RedisServer, wait_for
from tests.triage.factories import make_log, make_token, make_triager, make_user
from triage.ingest import queue_analysis
from triage.models import Build, BuildFile, Crash, Log
from triage.queueing import sweep
from workers.celery_app import app
from workers.parser import parse_log
from workers.tasks import analyze_log


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    """A redis-server of our own as the Celery broker (restored afterwards)."""
    server = RedisServer(tmp_path_factory.mktemp("broker"))
    server.start()
    saved = app.conf.broker_url, app.conf.broker_transport_options
    app.conf.broker_url = server.url
    app.conf.broker_transport_options = {"socket_connect_timeout": 2, "visibility_timeout": 3600}
    app._after_fork()  # forget the pooled connections to the old broker
    yield server
    server.stop()
    app.conf.broker_url, app.conf.broker_transport_options = saved
    app._after_fork()


@pytest.fixture
def up(broker):
    if broker.proc is None:
        broker.start()
    return broker


def worker():
    return start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30)


def status(log: Log) -> str:
    return Log.objects.values_list("status", flat=True).get(pk=log.pk)


def died_while_running(log: Log, attempts: int = 1) -> None:
    """What a worker killed mid-analysis leaves: running, attempts counted, no heartbeat for long, and
    its message gone from the queue (unacknowledged with the dead worker)."""
    app.control.purge()
    Log.objects.filter(pk=log.pk).update(status=Log.Status.RUNNING, attempts=attempts,
                                         heartbeat=timezone.now() - timedelta(minutes=10))


def test_a_second_copy_of_a_message_runs_nothing(db):
    log = make_log(fixture_log("x86_64-WARNING.log"))
    token = Log.objects.get(pk=log.pk).task_token
    assert token
    assert analyze_log(log.pk, token) == "done"
    assert analyze_log(log.pk, token) == "taken"  # redelivered, re-sent by the sweeper, retried upload
    queue_analysis(log)  # a person re-queues it: a new token; the old message is stale
    assert analyze_log(log.pk, token) == "taken"
    assert analyze_log(log.pk, Log.objects.get(pk=log.pk).task_token) == "done"


@pytest.mark.django_db(transaction=True)
def test_the_sweeper_requeues_a_log_whose_worker_died(up, settings):
    log = make_log(fixture_log("x86_64-WARNING.log"))
    died_while_running(log)
    Log.objects.filter(pk=log.pk).update(heartbeat=timezone.now())
    assert sweep()["log"] == 0, "a running log with a fresh heartbeat is left alone"
    died_while_running(log)
    with worker():
        assert sweep()["log"] == 1
        assert wait_for(lambda: status(log) == "done", 60), status(log)
    log.refresh_from_db()
    assert log.attempts == 0 and Crash.objects.filter(log=log).exists()


@pytest.mark.django_db(transaction=True)
def test_restarts_after_dead_workers_count_against_the_attempts_limit(up):
    log = make_log(fixture_log("x86_64-WARNING.log"))
    died_while_running(log, attempts=3)  # three workers died on it
    with worker():
        sweep()
        assert wait_for(lambda: status(log) == "failed", 60), status(log)
    assert "gave up after 3 attempts" in Log.objects.get(pk=log.pk).error


@pytest.mark.django_db(transaction=True)
def test_the_sweeper_reindexes_a_build_whose_worker_died(up, tmp_path):
    build = Build.objects.create(index_status=Build.Index.BUILDING, attempts=1,
                                 heartbeat=timezone.now() - timedelta(minutes=10))
    BuildFile.objects.create(build=build, kind=BuildFile.Kind.VMLINUX, name="vmlinux", path="nowhere", sha256="")
    with worker():
        assert sweep()["build"] == 1
        assert wait_for(lambda: Build.objects.get(pk=build.pk).index_status == "failed", 60)
    assert Build.objects.get(pk=build.pk).index_status == Build.Index.FAILED  # the file is gone: a clear error


def api_upload(data: bytes, **fields):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token()}")
    return client.post("/api/logs/", {"file": SimpleUploadedFile("dmesg.txt", data), **fields}, format="multipart")


@pytest.mark.django_db(transaction=True)
def test_an_upload_while_the_broker_is_down_is_stored_and_analysed_when_it_is_back(up, settings):
    settings.TRIAGE_REQUEUE_AFTER = 0
    up.stop()
    response = api_upload(fixture_log("x86_64-WARNING.log"), commit="outage")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["queued"] == "later" and body["status"] == "queued"
    assert sweep()["log"] == 0  # still down: nothing sent, nothing lost
    up.start()
    with worker():
        assert sweep()["log"] == 1
        assert wait_for(lambda: status(Log(pk=body["id"])) == "done", 60)


@pytest.mark.django_db(transaction=True)
def test_a_retried_upload_of_a_stuck_log_queues_it(up):
    up.stop()
    first = api_upload(fixture_log("x86_64-WARNING.log"), commit="retry").json()
    assert first["queued"] == "later"
    up.start()
    again = api_upload(fixture_log("x86_64-WARNING.log"), commit="retry")
    assert again.status_code == 200 and again.json()["queued"] == "sent"
    with worker():
        assert wait_for(lambda: status(Log(pk=first["id"])) == "done", 60)


@pytest.mark.django_db(transaction=True)
def test_a_broker_error_after_the_analysis_never_fails_the_log(up):
    data = fixture_log("x86_64-READ_AFTER_FREE.log")
    release = parse_log(data).release
    assert release
    Build.objects.create(release=release, index_status=Build.Index.READY)  # decoding is queued on commit
    log = make_log(data)
    up.stop()
    assert analyze_log(log.pk) == "done"
    log.refresh_from_db()
    assert log.status == Log.Status.DONE and log.error == ""
    assert Crash.objects.filter(log=log, decode_status=Crash.Decode.QUEUED).exists()


def test_requeue_refuses_a_log_already_queued_or_running(client, db):
    log = make_log(fixture_log("x86_64-WARNING.log"))
    client.force_login(make_triager("alice"))
    for state in (Log.Status.QUEUED, Log.Status.RUNNING):
        Log.objects.filter(pk=log.pk).update(status=state)
        token = Log.objects.get(pk=log.pk).task_token
        response = client.post(f"/logs/{log.pk}/requeue", follow=True)
        assert f"already {state}" in response.content.decode()
        assert Log.objects.get(pk=log.pk).task_token == token
    Log.objects.filter(pk=log.pk).update(status=Log.Status.DONE)
    client.post(f"/logs/{log.pk}/requeue")
    assert Log.objects.get(pk=log.pk).task_token != token


def test_a_build_is_reindexed_from_its_page_and_the_api(client, db):
    build = Build.objects.create(index_status=Build.Index.FAILED, index_error="worker lost")
    BuildFile.objects.create(build=build, kind=BuildFile.Kind.VMLINUX, name="vmlinux", path="x", sha256="")
    client.force_login(make_user("mallory"))
    assert client.post(f"/builds/{build.pk}/reindex").status_code == 403
    client.force_login(make_triager("alice"))
    assert "index again" in client.get(f"/builds/{build.pk}/").content.decode()
    assert client.post(f"/builds/{build.pk}/reindex").status_code == 302
    assert Build.objects.get(pk=build.pk).index_status == Build.Index.QUEUED
    api = APIClient()
    api.force_authenticate(make_triager("alice"))
    assert api.post(f"/api/builds/{build.pk}/reindex/").status_code == 409  # already queued
    Build.objects.filter(pk=build.pk).update(index_status=Build.Index.FAILED)
    response = api.post(f"/api/builds/{build.pk}/reindex/")
    assert response.status_code == 202 and response.json()["index_status"] == "queued"
    api.force_authenticate(make_user("mallory"))
    assert api.post(f"/api/builds/{build.pk}/reindex/").status_code == 403
