"""From upload to crash rows through a real Celery worker on the configured broker.

With REDIS_URL set (CI) the broker is Redis; else the embedded filesystem broker. Nothing is mocked:
the API call sends the task on commit, the worker thread receives it and writes the rows.
"""

from __future__ import annotations

import os
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.conftest import fixture_log
from tests.triage.factories import make_token
from triage.models import Crash, Log
from workers.celery_app import app

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_broker_is_redis_when_redis_url_is_set():
    if not os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL is not set: the embedded broker is in use")
    assert app.conf.broker_url.startswith("redis://")


def test_uploaded_log_is_analyzed_by_a_real_worker(settings):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token()}")
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        response = client.post("/api/logs/", {"file": SimpleUploadedFile("dmesg.txt", fixture_log("x86_64-READ_AFTER_FREE.log")),
                                              "commit": "e2e"}, format="multipart")
        assert response.status_code == 201
        log_id = response.json()["id"]
        assert wait_for(lambda: Log.objects.get(pk=log_id).status in ("done", "failed")), "the worker never finished"
    log = Log.objects.get(pk=log_id)
    assert log.status == "done", log.error
    assert Crash.objects.filter(log=log).exists()
    assert client.get(f"/api/logs/{log_id}/").json()["crash_count"] == log.crash_count


def test_a_big_cluster_is_counted_for_its_page_by_a_real_worker(settings):
    from triage.cluster_counts import stored_groups
    from triage.models import ClusterCounts

    settings.TRIAGE_COUNTED_CLUSTER_SIZE, settings.TRIAGE_CLUSTER_COUNT_DELAY = 1, 0  # every cluster is big
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token()}")
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        response = client.post("/api/logs/", {"file": SimpleUploadedFile("dmesg.txt", fixture_log("x86_64-READ_AFTER_FREE.log")),
                                              "commit": "counted"}, format="multipart")
        assert response.status_code == 201
        assert wait_for(lambda: ClusterCounts.objects.exists()), "no worker counted the cluster"
    crash = Crash.objects.get(log_id=response.json()["id"])
    groups = stored_groups(crash.cluster)
    assert groups is not None and groups.commits[("", "", "counted")].failing_runs == 1
