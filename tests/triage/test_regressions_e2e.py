"""End to end: a series uploaded over the API, a real worker finds the regression, the digest reaches a
real SMTP server once, and not again the next day."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from tests.conftest import fixture_log
from tests.triage.factories import make_token, make_user
from tests.triage.test_worker_e2e import wait_for
from triage.models import Log, Regression, Subscription
from workers.celery_app import app

pytestmark = pytest.mark.django_db(transaction=True)

JOB = {"tree": "mainline", "branch": "master", "config": "x86_64-defconfig", "arch": "x86_64", "test": "boot"}


def test_a_crashing_commit_is_found_reported_and_mailed_once(settings, smtp_server):
    inbox, _ = smtp_server
    settings.SITE_URL = "https://triage.example.org"
    settings.TRIAGE_REGRESSION_DELAY = 1  # a burst of runs of one job: one check a second later
    user = make_user("maintainer")
    user.email = "maintainer@example.org"
    user.save()
    Subscription.objects.create(user=user, tree="mainline")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token()}")
    series = [("v1", "", "x86_64-boot.log"), ("v2", "v1", "x86_64-boot.log"), ("v3", "v2", "x86_64-READ_AFTER_FREE.log")]
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        for commit, parent, name in series:
            for run in ("1", "2"):
                response = client.post("/api/logs/", {
                    "file": SimpleUploadedFile(name, fixture_log(name)), "commit": commit, "parent": parent,
                    "run_id": run, **JOB}, format="multipart")
                assert response.status_code == 201, response.content
                assert response.json()["parent"] == parent
        # a check may run between the two runs of v3 (debounce is per second here): wait for the one after both
        assert wait_for(lambda: Regression.objects.filter(first_bad_commit="v3", runs_bad=2).exists(), 90), \
            f"no regression found; logs: {list(Log.objects.values_list('commit', 'status', 'error'))}, " \
            f"regressions: {list(Regression.objects.values_list('first_bad_commit', 'runs_bad'))}"
    reg = Regression.objects.get()
    assert (reg.last_good_commit, reg.state, reg.fail_bad, reg.runs_bad) == ("v2", "suspected", 2, 2)
    listed = client.get("/api/regressions/").json()["results"]
    assert [r["id"] for r in listed] == [reg.pk] and listed[0]["tree"] == "mainline"

    call_command("send_digests")
    assert len(inbox.messages) == 1
    body = inbox.messages[0].get_body(("plain",)).get_content()
    assert reg.title in body and f"https://triage.example.org/regressions/{reg.pk}/" in body
    call_command("send_digests", at=(timezone.now() + timedelta(days=1)).isoformat())
    assert len(inbox.messages) == 1
