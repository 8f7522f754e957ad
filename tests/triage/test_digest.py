"""Digests: per subscription, through a real SMTP server, never twice, not when empty."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.triage.factories import make_report, make_run, make_user
from triage.digest import send_due, subscription_from_token
from triage.models import Digest, Subscription
from triage.regressions import check_job, job_of

pytestmark = pytest.mark.django_db

JOB = {"tree": "linux-next", "branch": "master", "config": "defconfig", "arch": "x86_64", "test": "boot"}


@pytest.fixture(autouse=True)
def site(settings):
    settings.SITE_URL = "https://triage.example.org"
    settings.DEFAULT_FROM_EMAIL = "triage@example.org"


def subscribe(address: str = "dev@example.org", **fields) -> Subscription:
    user = make_user(address.split("@")[0])
    user.email = address
    user.save()
    return Subscription.objects.create(user=user, **fields)


def regression(title: str = "BUG: one", job=JOB, commit: str = "b", subsystem: str | list[str] = ""):
    make_run("a", **job)
    check_job(job_of(make_run(commit, reports=[make_report(title)], subsystem=subsystem, **job)).pk)


def test_a_digest_is_multipart_with_links_and_a_working_unsubscribe_link(client, smtp_server):
    inbox, _ = smtp_server
    sub = subscribe()
    regression()
    assert send_due() == 1
    (message,) = inbox.messages
    assert message["To"] == "dev@example.org" and message["X-Envelope-To"] == "dev@example.org"
    assert "1 new regression" in message["Subject"]
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "BUG: one" in text and "https://triage.example.org/regressions/" in text
    assert '<a href="https://triage.example.org/regressions/' in html
    unsubscribe = str(message["List-Unsubscribe"]).strip().strip("<>")
    # the token is signed with a timestamp: compare what it names, not its bytes (a second may pass)
    token = unsubscribe.removeprefix("https://triage.example.org/unsubscribe/").removesuffix("/")
    assert unsubscribe == f"https://triage.example.org/unsubscribe/{token}/"
    assert subscription_from_token(token) == sub
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    path = unsubscribe.removeprefix("https://triage.example.org")
    assert client.get(path).status_code == 200 and Subscription.objects.get().active  # GET only asks
    assert client.post(path).status_code == 200  # no login, no CSRF token: the signed link is the key
    assert not Subscription.objects.get().active
    assert client.post(path[:-3] + "xx/").status_code == 404


def test_nothing_is_sent_when_there_is_nothing_new_nor_twice(smtp_server):
    inbox, _ = smtp_server
    sub = subscribe()
    assert send_due() == 0 and inbox.messages == []
    regression()
    tomorrow = timezone.now() + timedelta(days=1)
    assert send_due(tomorrow) == 1
    assert send_due(tomorrow + timedelta(days=1)) == 0  # the same regression: not again
    assert send_due(tomorrow + timedelta(hours=1)) == 0  # not due yet either
    assert len(inbox.messages) == 1 and Subscription.objects.get(pk=sub.pk).last_sent is not None


def test_filters_frequency_and_clusters_choose_what_each_subscription_gets(smtp_server, settings):
    inbox, _ = smtp_server
    subscribe("arm@example.org", arch="arm64")
    subscribe("all@example.org", clusters=True)
    now = timezone.now()
    local_weekday = now.astimezone(__import__("zoneinfo").ZoneInfo(settings.TRIAGE_TIMEZONE)).weekday()
    settings.TRIAGE_DIGEST_WEEKDAY = (local_weekday + 1) % 7
    subscribe("weekly@example.org", frequency="weekly")
    regression("BUG: x86 only")
    assert send_due(now) == 1
    (message,) = inbox.messages
    assert message["To"] == "all@example.org"
    body = message.get_body(("plain",)).get_content()
    assert "BUG: x86 only" in body and "New crash clusters:" in body
    regression("BUG: on arm", job={**JOB, "arch": "arm64"})
    assert send_due(now + timedelta(days=1)) == 3  # arm, all (the new arm one), weekly on its day
    to = sorted(m["To"] for m in inbox.messages[1:])
    assert to == ["all@example.org", "arm@example.org", "weekly@example.org"]


def test_a_subsystem_subscription_gets_only_regressions_and_clusters_with_crashes_in_it(smtp_server):
    inbox, _ = smtp_server
    subscribe("mm@example.org", subsystem="MEMORY MANAGEMENT", clusters=True)
    regression("BUG: bad page state in free_pages", subsystem="MEMORY MANAGEMENT")
    regression("WARNING in tcp_sendmsg", commit="c", subsystem="NETWORKING")
    regression("BUG: no guilty file known", commit="d")
    assert send_due() == 1
    (message,) = inbox.messages
    assert message["To"] == "mm@example.org" and "(MEMORY MANAGEMENT)" in message["Subject"]
    assert "1 new regression and 1 new cluster" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "New regressions (subsystem MEMORY MANAGEMENT):" in text
    assert "New crash clusters (subsystem MEMORY MANAGEMENT):" in text
    assert "<h2>New regressions (subsystem MEMORY MANAGEMENT)</h2>" in html
    for body in (text, html):
        assert "BUG: bad page state in free_pages" in body
        assert "tcp_sendmsg" not in body and "no guilty file known" not in body
    regression("BUG: Bad rss-counter state", job={**JOB, "arch": "arm64"}, subsystem="MEMORY MANAGEMENT")
    assert send_due(timezone.now() + timedelta(days=1)) == 1  # another job, the same subsystem: sent
    assert "Bad rss-counter state" in inbox.messages[1].get_body(("plain",)).get_content()


def test_a_subscription_to_a_broader_section_gets_crashes_filed_under_a_narrower_one_too(smtp_server):
    inbox, _ = smtp_server
    for address, section in (("lkdtm@example.org", "LKDTM"), ("misc@example.org", "MISC DRIVERS"),
                             ("net@example.org", "NETWORKING [GENERAL]")):
        subscribe(address, subsystem=section, clusters=True)
    regression("WARNING: CPU: 0 PID: 1 at drivers/misc/lkdtm/bugs.c", subsystem=["LKDTM", "MISC DRIVERS"])
    assert send_due() == 2
    assert sorted(m["To"] for m in inbox.messages) == ["lkdtm@example.org", "misc@example.org"]
    for message in inbox.messages:
        assert "1 new regression and 1 new cluster" in message["Subject"]
        assert "lkdtm/bugs.c" in message.get_body(("plain",)).get_content()


def test_a_team_address_set_up_by_an_admin_gets_digests(smtp_server):
    inbox, _ = smtp_server
    Subscription.objects.create(email="linux-mm@kvack.org", name="linux-mm")
    regression()
    assert send_due() == 1 and inbox.messages[0]["To"] == "linux-mm@kvack.org"


def test_a_run_that_fails_halfway_sends_the_rest_next_time_and_nothing_twice(smtp_server):
    inbox, controller = smtp_server
    first, second = subscribe("a@example.org"), subscribe("b@example.org")
    regression()
    from triage import digest as digests

    sent = digests.deliver
    calls = []

    def deliver_then_stop_the_server(digest):
        calls.append(digest.subscription_id)
        if len(calls) == 2:
            controller.stop()  # the mail server goes away in the middle of the run
        return sent(digest)

    digests.deliver = deliver_then_stop_the_server
    try:
        assert send_due() == 1
    finally:
        digests.deliver = sent
    assert [m["To"] for m in inbox.messages] == ["a@example.org"]
    assert Digest.objects.get(subscription=second).status == "failed"
    again = type(controller)(inbox, hostname="127.0.0.1", port=controller.port)  # the server is back
    again.start()
    try:
        assert send_due(timezone.now() + timedelta(days=1)) == 1
    finally:
        again.stop()
    assert [m["To"] for m in inbox.messages] == ["a@example.org", "b@example.org"]
    assert set(Digest.objects.values_list("status", flat=True)) == {"sent"} and first.digests.count() == 1


def test_send_digests_command_sends_what_is_due(smtp_server):
    inbox, _ = smtp_server
    subscribe()
    regression()
    call_command("send_digests")
    assert len(inbox.messages) == 1


def test_beat_schedules_the_digest_at_a_fixed_time_of_day_in_the_configured_zone(settings):
    from celery.schedules import crontab

    entry = settings.CELERY_BEAT_SCHEDULE["daily-digest"]
    assert entry["task"] == "workers.tasks.send_digests" and isinstance(entry["schedule"], crontab)
    hour, minute = settings.TRIAGE_DIGEST_TIME.split(":")
    assert entry["schedule"].hour == {int(hour)} and entry["schedule"].minute == {int(minute)}
    assert settings.CELERY_TIMEZONE == settings.TRIAGE_TIMEZONE


def test_the_settings_page_makes_several_subscriptions(client):
    user = make_user("carol")
    client.force_login(user)
    client.post("/subscriptions/", {"email": "carol@example.org"})
    for arch in ("x86_64", "arm64"):
        response = client.post("/subscriptions/", {"arch": arch, "frequency": "weekly", "clusters": "on"})
        assert response.status_code == 302
    assert sorted(user.subscriptions.values_list("arch", "frequency", "clusters")) == [
        ("arm64", "weekly", True), ("x86_64", "weekly", True)]
    page = client.get("/subscriptions/").content.decode()
    assert "arm64" in page and "carol@example.org" in page
    other = subscribe("dave@example.org")
    assert client.post(f"/subscriptions/{other.pk}/delete").status_code == 404  # not carol's


def test_the_settings_page_saves_a_subsystem_and_suggests_known_ones(client):
    make_run("a", reports=[make_report("BUG: in mm")], subsystem="MEMORY MANAGEMENT", **JOB)
    user = make_user("erin")
    client.force_login(user)
    page = client.get("/subscriptions/").content.decode()
    assert 'list="known-subsystem"' in page
    assert '<datalist id="known-subsystem"><option value="MEMORY MANAGEMENT"></datalist>' in page
    response = client.post("/subscriptions/", {"subsystem": "MEMORY MANAGEMENT", "frequency": "daily"})
    assert response.status_code == 302
    assert list(user.subscriptions.values_list("subsystem", "tree")) == [("MEMORY MANAGEMENT", "")]
    assert "subsystem <b>MEMORY MANAGEMENT</b>" in client.get("/subscriptions/").content.decode()


def test_a_subsystem_is_checked_against_maintainers_and_spelt_as_it_spells_it(client):
    """A typo would match nothing, silently: the form refuses it; a section without crashes yet is fine."""
    from triage.models import MaintainersFile
    from triage.subsystems import section_names

    MaintainersFile.objects.create(tree="", text="NETWORKING DRIVERS\nM:\tA <a@example.org>\nF:\tdrivers/net/\n\n"
                                                  "THE REST\nM:\tLinus <l@example.org>\nF:\t*\n")
    make_run("a", reports=[make_report("BUG: in mm")], subsystem="MEMORY MANAGEMENT", **JOB)
    assert section_names() == ["MEMORY MANAGEMENT", "NETWORKING DRIVERS"]
    user = make_user("erin")
    client.force_login(user)
    refused = client.post("/subscriptions/", {"subsystem": "MEMORY MANAGMENT", "frequency": "daily"})
    assert refused.status_code == 400 and "No MAINTAINERS section is named" in refused.content.decode()
    assert client.post("/subscriptions/", {"subsystem": "networking drivers", "frequency": "daily"}).status_code == 302
    assert list(user.subscriptions.values_list("subsystem", flat=True)) == ["NETWORKING DRIVERS"]
