"""The email digest names the clusters that are new in the period, with links."""

from __future__ import annotations

import pytest
from django.core import mail

from tests.conftest import fixture_log
from tests.triage.factories import make_log
from triage.digest import send_digest
from workers.tasks import analyze_log

pytestmark = pytest.mark.django_db


def test_digest_lists_new_clusters_with_counts_and_links(settings):
    settings.SITE_URL = "https://triage.example.org"
    for run in ("1", "2"):
        analyze_log(make_log(fixture_log("x86_64-kasan-uaf.log"), commit="c1", run_id=run).pk)
    assert send_digest(24, ["dev@example.org"]) == 1
    message = mail.outbox[0]
    assert message.to == ["dev@example.org"] and "new crash cluster" in message.subject
    assert "KASAN: slab-use-after-free Read in" in message.body
    assert "2 crashes in 2 runs of 1 commit" in message.body
    assert "https://triage.example.org/clusters/" in message.body


def test_no_digest_when_nothing_crashed():
    analyze_log(make_log(fixture_log("x86_64-boot.log")).pk)
    assert send_digest(24, ["dev@example.org"]) == 0
    assert mail.outbox == []
