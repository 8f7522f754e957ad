"""Regressions, cluster triage and digest subscriptions in Chromium: they work and pass axe-core."""

from __future__ import annotations

import pytest

from tests.browser.conftest import check_page, log_in
from tests.conftest import fixture_log
from tests.triage.factories import make_log, make_triager
from triage.models import Cluster, Regression
from triage.regressions import check_job, job_of
from workers.tasks import analyze_log

JOB = {"tree": "linux-next", "branch": "master", "config": "x86_64-kasan", "arch": "x86_64", "test": "boot"}


@pytest.fixture
def regression(transactional_db, settings) -> Regression:
    settings.SITE_URL = "https://triage.example.org"
    for commit, name in (("aaaa0000", "x86_64-boot.log"), ("bbbb1111", "x86_64-READ_AFTER_FREE.log")):
        log = make_log(fixture_log(name), name, commit=commit, **JOB)
        analyze_log(log.pk)
    check_job(job_of(log).pk)
    return Regression.objects.get()


def test_regression_pages_pass_axe_and_the_copy_button_copies_the_report(page, live_server, regression):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, make_triager(), live_server)
    page.goto("/regressions/?state=suspected")
    check_page(page, "regressions")
    page.get_by_role("link", name=regression.title).click()
    page.wait_for_url(f"**/regressions/{regression.pk}/")
    check_page(page, "regression")
    page.get_by_role("button", name="copy").click()
    page.wait_for_selector("button.copy:has-text('copied')")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("Hello,") and "| Closes: https://triage.example.org/regressions/" in copied


def test_a_triager_marks_the_cluster_fixed_in_the_browser(page, live_server, regression):
    log_in(page, make_triager(), live_server)
    page.goto(regression.cluster.get_absolute_url())
    page.get_by_text("Triage", exact=True).click()
    check_page(page, "cluster-triage")
    page.get_by_label("Status").select_option("fixed")
    page.get_by_label("fixed by commit").fill("cafe1234")
    page.get_by_role("button", name="Set status").click()
    page.wait_for_selector("text=Status changed.")
    assert Cluster.objects.get(pk=regression.cluster_id).fixed_commit == "cafe1234"
    assert page.locator(".triage .tag.status-fixed").is_visible()


def test_subscribing_to_digests_in_the_browser(page, live_server, transactional_db):
    user = make_triager("subscriber")
    log_in(page, user, live_server)
    page.goto("/subscriptions/")
    check_page(page, "subscriptions")
    page.get_by_label("Your address").fill("subscriber@example.org")
    page.get_by_role("button", name="Save").click()
    page.locator("#id_arch").fill("arm64")
    page.get_by_label("Frequency").select_option("weekly")
    page.get_by_role("button", name="Subscribe").click()
    page.wait_for_selector("text=Subscribed.")
    assert list(user.subscriptions.values_list("arch", "frequency")) == [("arm64", "weekly")]
