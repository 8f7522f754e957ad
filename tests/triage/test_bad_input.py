"""Bad input on PostgreSQL: NUL bytes in parameters, metadata and log content; one log that is huge.

NUL in a parameter is a 400 with the reason (PostgreSQL text columns cannot hold it); NUL in a log is
kept in the raw bytes and dropped from every column, so analysis and decoding both work.
"""

from __future__ import annotations

import lzma
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.conftest import fixture_log
from tests.triage.factories import make_log, make_token, make_user
from tests.triage.test_builds import crash_log, upload_build
from triage.models import Crash, Log, StatKey
from workers.parser import parse_log
from workers.tasks import analyze_log

pytestmark = pytest.mark.django_db


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize("url", ["/logs/?commit=a%00b", "/api/logs/?commit=a%00b", "/compare/?base_commit=a%00",
                                 "/clusters/?q=%00", "/crashes/?title=x%00", "/api/crashes/?x%00=1"])
def test_nul_in_a_query_parameter_is_a_400_with_the_reason(client, url):
    response = client.get(url)
    assert response.status_code == 400
    assert "NUL" in response.content.decode()


def test_nul_in_upload_metadata_is_a_400_and_stores_nothing(settings):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token()}")
    response = client.post("/api/logs/", {"file": SimpleUploadedFile("dmesg.txt", fixture_log("x86_64-WARNING.log")),
                                          "commit": "abc\x00def"}, format="multipart")
    assert response.status_code == 400
    assert "NUL" in response.json()["error"] and "commit" in response.json()["error"]
    assert Log.objects.count() == 0 and stored_files(settings) == []


def test_nul_in_the_upload_form_is_a_400_and_stores_nothing(client, settings):
    client.force_login(make_user("alice"))
    response = client.post("/logs/upload/", {"file": SimpleUploadedFile("dmesg.txt", fixture_log("x86_64-WARNING.log")),
                                             "machine": "qemu\x00"})
    assert response.status_code == 400 and "NUL" in response.content.decode()
    assert Log.objects.count() == 0 and stored_files(settings) == []


def test_nul_bytes_inside_a_report_are_kept_raw_and_dropped_from_every_column(settings):
    data = fixture_log("x86_64-WARNING.log")
    lines = data.split(b"\n")
    # NUL in the report's title line, its frames and everywhere else a serial console may put one
    dirty = b"\n".join(line.replace(b" ", b" \x00", 1) if i % 3 else line for i, line in enumerate(lines))
    log = make_log(dirty)
    assert analyze_log(log.pk) == "done", Log.objects.get(pk=log.pk).error
    log.refresh_from_db()
    assert (Path(settings.MEDIA_ROOT) / log.raw).read_bytes() == dirty
    crashes = list(Crash.objects.filter(log=log))
    assert crashes
    for crash in crashes:
        assert "\x00" not in crash.title and "\x00" not in repr(crash.report)
    assert not any("\x00" in k for k in StatKey.objects.filter(log=log).values_list("key", flat=True))


def test_a_crash_with_nul_bytes_is_decoded(eager_tasks, vmlinux, django_capture_on_commit_callbacks):  # noqa: F811
    dirty = crash_log(vmlinux).replace(b"caller+", b"\x00caller+").replace(b"RIP:", b"RIP:\x00")
    with django_capture_on_commit_callbacks(execute=True):
        log = make_log(dirty, commit="nul")
        upload_build(lzma.compress(vmlinux.read_bytes()))
    crash = Crash.objects.get(log=log, index=0)
    assert crash.decode_status == Crash.Decode.DONE, crash.decode_error
    assert "crash_here (" in crash.decoded["text"] and "\x00" not in crash.decoded["text"]


def test_reports_past_the_cap_are_counted_not_stored_and_the_page_stays_small(settings, client):
    settings.TRIAGE_MAX_REPORTS_PER_LOG = 50
    warning = ("[  {t}.000000] WARNING: CPU: 0 PID: 1 at kernel/foo.c:{n} foo_{n}+0x1/0x2\n"
               "[  {t}.000001] ---[ end trace 0000000000000000 ]---\n")
    data = "".join(warning.format(t=100 + n, n=n) for n in range(400)).encode()
    log = make_log(data)
    assert analyze_log(log.pk) == "done"
    log.refresh_from_db()
    stored = Crash.objects.filter(log=log).count()
    assert stored == 50 and log.crash_count == 50
    assert log.reports_dropped > 0
    assert log.crash_count + log.reports_dropped == len(parse_log(data).reports)  # found, kept or not
    starts = list(Crash.objects.filter(log=log).order_by("index").values_list("start_line", flat=True))
    assert starts[0] == 0 and starts == sorted(starts) and starts[-1] < 400  # the first ones are kept
    page = client.get(f"/logs/{log.pk}/").content.decode()
    assert f"{log.reports_dropped} more reports" in page
    assert page.count('href="/crashes/') <= 100  # crashes are listed a page at a time
    second = client.get(f"/logs/{log.pk}/", {"from": 700}).content.decode()
    assert 'id="L701"' in second and 'id="L1"' not in second  # a window of the lines


def test_a_limit_past_bigint_is_a_400(client):
    response = client.get("/api/logs/", {"limit": "99999999999999999999"})
    assert response.status_code == 400
